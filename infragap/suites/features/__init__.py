"""The features pair: handwritten pandas preprocessing vs a Feast feature store."""

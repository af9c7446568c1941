"""The serving pair: naive Flask endpoints vs Triton Inference Server."""

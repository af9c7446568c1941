"""Small, reusable static analyses over LibCST trees (imports, names, route handlers)."""

"""Shell scripts, read with a real parser (tree-sitter's bash grammar), never run.

`syntax` parses and locates; `words` turns shell words into Python expressions where
they mean the same thing; `translate` turns a pipeline script into a DAG spec.
"""

"""Generators: files the migration creates (a Triton model repository for now)."""

"""Seeded workloads shared by both sides of a pair: models, data and request streams."""

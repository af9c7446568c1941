"""Kubernetes manifests for the scaling pair, built from measured figures and validated offline."""

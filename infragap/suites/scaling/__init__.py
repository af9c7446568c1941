"""The scaling pair: fixed provisioning vs the Kubernetes HPA through traffic traces (a model)."""

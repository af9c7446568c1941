"""Serving a model infragap did not make: its signature, its requests, and the processes
that load it."""

"""The proven side of the features pair: a Feast feature repository the toolkit writes.

- `tables`: the batch feature pipeline (raw tables -> parquet feature tables).
- `repository`: writes feature_store.yaml, the definitions and the tables into a folder.
- `store`: `feast apply`, materialisation and the in-process SDK.
- `server`: `feast serve` (and optionally redis-server) under the Supervisor.
- `definitions.py` is copied verbatim into the repository as `features.py`; `names`
  holds the names the rest of the toolkit uses to ask for its features.
"""

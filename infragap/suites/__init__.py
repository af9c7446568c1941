"""Benchmark suites. Importing `infragap.suites.all` registers every suite."""

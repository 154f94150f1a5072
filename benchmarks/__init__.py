"""Benchmarks: `manage.py bench_digests` and `manage.py bench_ingest`. Not part of the product: no app
imports this package; it is an app only so that its management commands register."""

"""The digest benchmark (`manage.py bench_digests`): a synthetic data set, a naive baseline, the runner."""

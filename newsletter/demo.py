"""Demo data for `manage.py seed_demo`; must be idempotent."""


def seed(*, stdout) -> None:
    """Nothing yet for this app."""

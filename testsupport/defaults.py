"""What a fresh installation has from its data migrations, made again for transactional tests.

A transactional test ends by flushing every table, data-migration rows included; a later test that
expects the default topics and sources (the demo, the README pictures, the admin screens) puts them
back with the migration's own function. (serialized_rollback would reload them, content types
included, over the content types the flush made again: an IntegrityError.)
"""

import importlib

from django.apps import apps


def default_topics_and_sources() -> None:
    """The default topics and sources, as migration papers/0003 creates them (idempotent)."""
    migration = importlib.import_module("papers.migrations.0003_default_topics_and_sources")
    migration.create_defaults(apps, None)

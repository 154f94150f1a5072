"""Fixtures for the hostile-people tests."""

import re

import pytest

from papers.tests.factories import TopicFactory


@pytest.fixture
def topics(db):
    """Three active topics and one retired one (its slug must be refused like any unknown value)."""
    active = [
        TopicFactory(slug="lowbit", name="Quantization"),
        TopicFactory(slug="codegen", name="Code LLMs"),
        TopicFactory(slug="toolusers", name="Agents"),
    ]
    TopicFactory(slug="retired", name="Retired", active=False)
    return active


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in this process (mail lands in Django's test outbox)."""
    from config.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token_from(response) -> str:
    match = _CSRF_INPUT.search(response.content.decode())
    assert match, "page has no CSRF token"
    return match[1]

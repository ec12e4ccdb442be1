"""Shared fixtures: tasks run eagerly unless a test starts a real worker."""

from pathlib import Path

import pytest

from config.celery import app as celery_app

pytest_plugins = ["tests.sandbox_fixtures"]

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
FIXTURES_DIR = REFERENCE_DIR / "fixtures"


@pytest.fixture(autouse=True)
def _eager_celery():
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def reference_fixtures() -> Path:
    """The vendors' example payloads (``../shared/reference/fixtures``)."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"reference fixtures missing at {FIXTURES_DIR}: shared/ must sit beside the checkout")
    return FIXTURES_DIR

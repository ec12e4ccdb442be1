"""Benchmarks, run on demand (`make bench`), never by `make test`."""


def run_in_test_database(run):
    """Set Django up and call ``run()`` in a throwaway test database (test_<DATABASE_URL name>);
    return what it returns."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        return run()
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()

"""Display names of ``Assessment.source`` keys, filled by apps above assessments.

``source`` is an opaque key (an ATS connection's is ``connection:<pk>``); assessments cannot import
integrations to name it. An assessment may carry its own ``source_label`` (set when it was
ordered); for the rest, integrations registers a resolver in its ``AppConfig.ready``::

    from assessments.source_labels import source_label_resolver_register

    def connection_names(keys):  # one query for all keys, never one per key
        ids = [int(k.split(":", 1)[1]) for k in keys if k.startswith("connection:") and k[11:].isdigit()]
        return {c.source_key: c.name or c.get_provider_display() for c in Connection.objects.filter(pk__in=ids)}

    source_label_resolver_register("integrations.connections", connection_names)
"""

import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

Resolver = Callable[[list[str]], dict[str, str]]
_resolvers: dict[str, Resolver] = {}


def source_label_resolver_register(key: str, resolver: Resolver) -> None:
    _resolvers[key] = resolver


def source_label_resolver_unregister(key: str) -> None:
    _resolvers.pop(key, None)


def source_labels(keys: Iterable[str]) -> dict[str, str]:
    """Names the registered resolvers know for ``keys`` (a failing resolver is skipped)."""
    wanted = sorted({k for k in keys if k})
    labels: dict[str, str] = {}
    if not wanted:
        return labels
    for name, resolver in list(_resolvers.items()):
        try:
            found = resolver(wanted) or {}
        except Exception:
            logger.exception("source label resolver %s failed", name)
            continue
        for key, label in found.items():
            if key in wanted and label and key not in labels:
                labels[key] = str(label)
    return labels

"""The wizard's and the connections page's only contact with the sync engine
(``integrations.sync``), imported lazily: where the engine is not installed the pages say
"sync not available" instead of failing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import Connection

PIPELINE_KINDS = ("jobs", "stages")
NOT_AVAILABLE = "sync not available"


@dataclass(frozen=True)
class RefreshResult:
    started: bool
    message: str


def pipeline_refresh(*, connection: Connection) -> RefreshResult:
    """Start a jobs + stages sync of ``connection`` (the wizard's "refresh from ATS")."""
    try:
        from .sync import sync_start
    except ImportError:
        return RefreshResult(False, NOT_AVAILABLE)
    sync_start(connection=connection, full=False, kinds=PIPELINE_KINDS)
    return RefreshResult(True, "Refreshing the pipeline from the ATS…")


def next_sync(*, connection: Connection) -> tuple[dt.datetime | None, str]:
    """When the next scheduled sync runs, and a note for when that is not a time."""
    if not connection.sync_enabled:
        return None, "paused"
    try:
        from .sync import sync_next_at
    except ImportError:
        return None, NOT_AVAILABLE
    return sync_next_at(connection=connection), ""

"""A seam for apps above assessments (integrations) to add sections to the recruiter's assessment
detail page without assessments importing them: the ATS write-backs, ATS-side actions.

An app registers a callable in its ``AppConfig.ready``::

    from assessments.detail_panels import DetailPanel, detail_panel_register

    def writebacks(assessment):
        return DetailPanel(title="Write-backs to the ATS", template="integrations/_writebacks.html",
                           context={"deliveries": delivery_list(assessment_id=assessment.pk)})

The template sees ``assessment``, ``panel`` and ``data`` (the panel's context).

    detail_panel_register("integrations.writebacks", writebacks)

The callable gets the assessment (already scoped to the recruiter) and returns a panel, or None
to show nothing. The page renders ``template`` with ``context`` (plus ``assessment``).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Assessment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetailPanel:
    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


PanelFactory = Callable[[Assessment], DetailPanel | None]
_registry: dict[str, PanelFactory] = {}


def detail_panel_register(key: str, factory: PanelFactory) -> None:
    """Register (or replace, by ``key``) a panel factory."""
    _registry[key] = factory


def detail_panel_unregister(key: str) -> None:
    _registry.pop(key, None)


def detail_panels_for(*, assessment: Assessment) -> list[DetailPanel]:
    panels = []
    for key, factory in list(_registry.items()):
        try:
            panel = factory(assessment)
        except Exception:  # one broken panel must not take the page down
            logger.exception("detail panel %s failed for assessment %s", key, assessment.pk)
            continue
        if panel is not None:
            panels.append(panel)
    return sorted(panels, key=lambda p: (p.order, p.title))

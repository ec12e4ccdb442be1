"""Routing for sandboxes: werkzeug rules whose endpoint names are methods of a target object,
dispatched with the ATS's own error shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

ErrorRenderer = Callable[[int, str, str], Response]


class Routes:
    """A fresh werkzeug ``Map`` of ``rules`` (a Rule binds to one Map, so each sandbox gets
    copies). ``dispatch`` calls ``getattr(target, endpoint)(request, **values)``."""

    def __init__(self, rules: Iterable[Rule]):
        self.url_map = Map([rule.empty() for rule in rules])

    def paths(self) -> list[str]:
        return sorted({rule.rule for rule in self.url_map.iter_rules()})

    def matches(self, request: Request) -> bool:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            adapter.match()
        except MethodNotAllowed:
            return True
        except HTTPException:
            return False
        return True

    def dispatch(
        self,
        request: Request,
        target: Any,
        *,
        error: ErrorRenderer,
        handle: Callable[[Exception], Response | None] | None = None,
    ) -> Response:
        """Run the matched endpoint. ``error`` renders 404/405 as the ATS does; ``handle`` turns
        an exception the ATS's handlers raise into its answer (None: not one of its own)."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            return getattr(target, endpoint)(request, **values)
        except MethodNotAllowed:
            return error(405, "Method Not Allowed", f"{request.method} {request.path}")
        except NotFound:
            return error(404, "Not Found", request.path)
        except HTTPException as exc:  # e.g. a strict-slashes redirect
            return exc.get_response(request.environ)
        except Exception as exc:
            answer = handle(exc) if handle is not None else None
            if answer is None:
                raise
            return answer


def control_rules(prefix: str = "/_sandbox/") -> list[Rule]:
    """The generic control endpoints every sandbox has (served by ``SandboxKit``)."""
    return [
        Rule(f"{prefix}stats", endpoint="control_stats", methods=["GET"]),
        Rule(f"{prefix}webhooks", endpoint="control_webhooks", methods=["GET"]),
        Rule(f"{prefix}faults", endpoint="control_faults", methods=["GET", "POST", "DELETE"]),
        Rule(f"{prefix}config", endpoint="control_config", methods=["GET", "POST"]),
        Rule(f"{prefix}reset", endpoint="control_reset", methods=["POST"]),
    ]

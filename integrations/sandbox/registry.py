"""Which sandboxes exist: every ``integrations/<ats>/sandbox`` package that exposes ``SANDBOX``, a
``SandboxSpec``. Found by looking, so neither the commands nor the test plugin name an ATS, and
no Django set-up is needed to serve one (a sandbox is plain werkzeug)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .cli import Verb

NAME = re.compile(r"[a-z][a-z0-9_]*")


class SandboxConfig(Protocol):
    """What the kit needs of an ATS sandbox's config (a frozen dataclass)."""

    host: str
    port: int
    stagehook_url: str

    @property
    def base_url(self) -> str: ...


class SandboxApp(Protocol):
    """What the kit needs of an ATS sandbox: a WSGI app with a live config."""

    def __call__(self, environ: dict, start_response: Callable) -> Any: ...

    @property
    def config(self) -> SandboxConfig: ...

    def configure(self, **changes: Any) -> SandboxConfig: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SandboxSpec:
    """One ATS's sandbox as the commands and the test plugin see it.

    ``defaults``: the config the demo uses (``dataclasses.replace`` makes variants);
    ``factory(config)``: a new ``SandboxApp``; ``verbs``: what ``manage.py sandbox <name> <verb>``
    offers beyond the generic ones (``GENERIC_VERBS`` in cli.py)."""

    name: str
    defaults: Any
    factory: Callable[[Any], SandboxApp]
    verbs: Sequence[Verb] = field(default_factory=tuple)
    description: str = ""


class UnknownSandbox(LookupError):
    pass


def sandbox_spec(name: str) -> SandboxSpec:
    """The ``SANDBOX`` of ``integrations.<name>.sandbox``; UnknownSandbox says why not."""
    if not NAME.fullmatch(name or ""):
        raise UnknownSandbox(f"not an ATS name: {name!r}")
    module_name = f"integrations.{name}.sandbox"
    try:
        found = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        found = None
    if found is None:
        known = ", ".join(sandbox_names()) or "none"
        raise UnknownSandbox(f"integrations.{name} has no sandbox module (sandboxes: {known})")
    module = importlib.import_module(module_name)
    spec = getattr(module, "SANDBOX", None)
    if not isinstance(spec, SandboxSpec):
        raise UnknownSandbox(f"{module_name} defines no SANDBOX = SandboxSpec(...)")
    if spec.name != name:
        raise UnknownSandbox(f"{module_name}.SANDBOX is named {spec.name!r}, not {name!r}")
    return spec


def sandbox_names() -> list[str]:
    """Every ATS folder under integrations/ with a ``sandbox`` package."""
    import integrations

    names = []
    for info in pkgutil.iter_modules(integrations.__path__):
        if info.ispkg and NAME.fullmatch(info.name) and info.name != "sandbox":
            if importlib.util.find_spec(f"integrations.{info.name}.sandbox") is not None:
                names.append(info.name)
    return sorted(names)

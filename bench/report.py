"""The one interface every benchmark module follows, and the report `make bench` prints and writes.

A benchmark is a module ``bench/<name>.py`` with::

    def main() -> list[Section]: ...

listed in ``bench/__main__.py``'s ``BENCHMARKS``. It measures, and returns its figures as
sections; it does not print the final table or write ``RESULTS.md`` (``python -m bench`` does
both, with the machine's facts and load average around each benchmark). It may print progress.

A ``Section`` is one table: rows of figures, each figure beside a baseline measured in the same run
as a ratio (``Row.ratio`` — the figure divided by the baseline's, see ``compare``), the targets it
is held to (``Target``: met or MISSED — a missed target is reported, not an error) and the
correctness checks behind the figures (``Check``: e.g. "every accepted event stored exactly once";
a failed check makes ``make bench`` exit non-zero). Notes are free text printed under the table
(what was run, counts, what the profile shows).

A benchmark that must run in a process of its own (e.g. with another environment) calls
``write_sections(sections, path)`` in the child and ``read_sections(path)`` in its ``main()``.

Minimal example::

    from bench.report import Check, Row, Section, Target, compare

    def main() -> list[Section]:
        base = Row("baseline: GET /healthz", {"p95 ms": 0.3, "req/s": 3000})
        row = compare(Row("POST /x", {"p95 ms": 4.0, "req/s": 900}), base, "req/s")
        return [Section(
            title="x under load", columns=["p95 ms", "req/s"], rows=[base, row],
            ratio_of="req/s / the baseline's req/s",
            targets=[Target("p95 < 100 ms", met=4.0 < 100, measured="4.0 ms")],
            checks=[Check("every call stored once", ok=True, detail="900 stored")],
            notes=["wrk -t2 -c16 -d10s"],
        )]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

Value = float | int | str | None


@dataclass
class Row:
    """One line of a table. ``values`` maps a column of the section to its figure. A baseline row
    has no ``baseline``/``ratio``; a measured row names the baseline row it is compared with (its
    label) and the ratio to it."""

    label: str
    values: dict[str, Value]
    baseline: str | None = None
    ratio: float | None = None


@dataclass
class Target:
    """A target of the issue: ``goal`` as stated (e.g. "p99 < 100 ms"), met or not, and what was
    measured (e.g. "129 ms")."""

    goal: str
    met: bool
    measured: str = ""
    subject: str = ""  # what the target is about, e.g. "POST /teamtailor/webhook"


@dataclass
class Check:
    """A correctness check behind the figures (counts, nothing lost, nothing twice). A figure whose
    check failed is meaningless: a failed check fails the run."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[Row]
    ratio_of: str = ""  # what Row.ratio means, e.g. "req/s / the insert baseline's req/s"
    targets: list[Target] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Section":
        return cls(
            title=data["title"], columns=list(data["columns"]),
            rows=[Row(**row) for row in data["rows"]], ratio_of=data.get("ratio_of", ""),
            targets=[Target(**t) for t in data.get("targets", [])],
            checks=[Check(**c) for c in data.get("checks", [])],
            notes=list(data.get("notes", [])),
        )

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


def compare(row: Row, baseline: Row, column: str, *, lower_is_better: bool = False) -> Row:
    """``row`` with its ratio to ``baseline`` on ``column``: figure / baseline figure (throughput), or
    baseline / figure when lower is better (latency), so that 1.0 is "as good as the baseline" and
    smaller is worse either way."""
    value, base = row.values[column], baseline.values[column]
    row.baseline = baseline.label
    if not value or not base:
        row.ratio = None
    else:
        row.ratio = (base / value) if lower_is_better else (value / base)
    return row


def write_sections(sections: list[Section], path: str | Path) -> None:
    Path(path).write_text(json.dumps([s.to_dict() for s in sections]))


def read_sections(path: str | Path) -> list[Section]:
    return [Section.from_dict(data) for data in json.loads(Path(path).read_text())]


# --- rendering (python -m bench) -------------------------------------------------------------------


def _cell(value: Value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    return str(value)


def _grid(section: Section) -> tuple[list[str], list[list[str]]]:
    with_ratio = any(row.ratio is not None or row.baseline for row in section.rows)
    header = ["", *section.columns] + (["baseline", "ratio"] if with_ratio else [])
    lines = []
    for row in section.rows:
        cells = [row.label, *(_cell(row.values.get(c)) for c in section.columns)]
        if with_ratio:
            cells += [row.baseline or "—",
                      f"{row.ratio:.2f}" if row.ratio is not None else "—"]
        lines.append(cells)
    return header, lines


def render_text(section: Section) -> str:
    header, lines = _grid(section)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    out = [section.title]

    def fmt(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out.append(fmt(header))
    out.extend(fmt(cells) for cells in lines)
    if section.ratio_of:
        out.append(f"  ratio = {section.ratio_of}")
    for check in section.checks:
        out.append(f"  check: {check.name}: {'ok' if check.ok else 'FAILED'}" + (f" ({check.detail})" if check.detail else ""))
    for target in section.targets:
        subject = f"{target.subject}: " if target.subject else ""
        out.append(f"  target: {subject}{target.goal}: {'met' if target.met else 'MISSED'}"
                   + (f" ({target.measured})" if target.measured else ""))
    for note in section.notes:
        out.append(f"  note: {note}")
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(section: Section, level: int = 3) -> str:
    header, lines = _grid(section)
    out = [f"{'#' * level} {section.title}", ""]
    out.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    out.extend("| " + " | ".join(_md_escape(c) for c in cells) + " |" for cells in lines)
    out.append("")
    if section.ratio_of:
        out += [f"Ratio = {section.ratio_of}.", ""]
    if section.targets:
        out += ["| target | measured | |", "|---|---|---|"]
        for t in section.targets:
            goal = f"{t.subject}: {t.goal}" if t.subject else t.goal
            out.append(f"| {_md_escape(goal)} | {_md_escape(t.measured)} | {'met' if t.met else '**MISSED**'} |")
        out.append("")
    if section.checks:
        out += [f"- check: {_md_escape(c.name)}: {'ok' if c.ok else '**FAILED**'}"
                + (f" ({c.detail})" if c.detail else "") for c in section.checks]
        out.append("")
    if section.notes:
        out += [f"- {note}" for note in section.notes]
        out.append("")
    return "\n".join(out)

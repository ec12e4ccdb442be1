"""`python -m bench` (`make bench`): every benchmark, one after the other; prints one report and
writes ``bench/RESULTS.md`` (and ``bench/results.json``, the same figures as data).

``BENCH_ONLY=intake_load`` (or a comma-separated list) runs some of them: the blocks of the others
in RESULTS.md are kept from their last run (read from results.json). Each benchmark module follows
``bench/report.py``: ``main() -> list[Section]``.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.report import Check, Section, read_sections, render_markdown, render_text, write_sections

# Run in this order. A new benchmark: a module bench/<name>.py with main() -> list[Section], added here.
BENCHMARKS = ("intake_load", "webhook_intake", "dashboard", "trigger_latency", "writeback_rate", "sync_load", "scaling")

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_JSON = HERE / "results.json"


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        return f"{int(match.group(1)) / 1024 / 1024:.0f} GB" if match else "?"
    except OSError:
        return "?"


def _postgres_version() -> str:
    from urllib.parse import urlsplit, urlunsplit

    # The maintenance database: DATABASE_URL's own may not exist (the benchmarks use test_<name>).
    url = urlunsplit(urlsplit(os.environ.get("DATABASE_URL", ""))._replace(path="/postgres"))
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - a fact of the report, not a failure
        return f"PostgreSQL (unknown: {type(exc).__name__})"


def _redis_version() -> str:
    try:
        import redis

        client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=5)
        return "Redis " + client.info("server")["redis_version"]
    except Exception as exc:  # noqa: BLE001
        return f"Redis (unknown: {type(exc).__name__})"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return f"{name} missing"


def machine_facts() -> dict:
    wrk = _first_line(["wrk", "-v"]) if shutil.which("wrk") else "wrk missing"
    return {
        "host": f"{os.cpu_count()} cores ({_cpu_model()}), {_memory_gb()} RAM, {platform.system()} {platform.release()}",
        "versions": ", ".join([
            f"Python {platform.python_version()}", _package_version("Django"), _package_version("gunicorn"),
            _package_version("celery"), _package_version("psycopg"), _postgres_version(), _redis_version(),
            wrk.split(" [")[0] if wrk.startswith("wrk") else wrk,
        ]),
    }


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run_one(name: str) -> dict:
    """Run one benchmark in a process of its own (its environment and Django setup stay its own);
    its sections and the facts of its run (time, load average before/after)."""
    started, load_before, clock = _now(), _load(), time.monotonic()
    print(f"== {name} (load average {load_before})", flush=True)
    with tempfile.TemporaryDirectory(prefix="stagehook-bench-") as tmp:
        out = Path(tmp) / "sections.json"
        done = subprocess.run([sys.executable, "-m", "bench", "--one", name, str(out)], cwd=HERE.parent)
        if done.returncode == 0 and out.exists():
            sections = read_sections(out)
        else:
            sections = [Section(title=f"{name}: did not complete", columns=[], rows=[], checks=[
                Check("the benchmark ran to the end", ok=False,
                      detail=f"exit status {done.returncode}; its output above says why")])]
    return {
        "name": name, "started": started, "seconds": round(time.monotonic() - clock, 1),
        "load_before": load_before, "load_after": _load(),
        "sections": [s.to_dict() for s in sections],
    }


def _child(name: str, out: str) -> int:
    """``python -m bench --one NAME OUT``: run bench.NAME.main() here, its sections to OUT."""
    module = importlib.import_module(f"bench.{name}")
    sections = module.main()
    if not isinstance(sections, list) or not all(isinstance(s, Section) for s in sections):
        raise TypeError(f"bench.{name}.main() must return list[Section] (bench/report.py)")
    write_sections(sections, out)
    return 0


def _block_markdown(block: dict) -> str:
    out = [f"## `{block['name']}` — {block['started']}", ""]
    out.append(f"{block['host']}; {block['versions']}. Load average (1/5/15 min) before "
               f"**{block['load_before']}**, after **{block['load_after']}**; {block['seconds']} s.")
    out.append("")
    for data in block["sections"]:
        out.append(render_markdown(Section.from_dict(data)))
    return "\n".join(out)


def _summary_rows(blocks: list[dict]) -> list[tuple[str, str, str, str]]:
    rows = []
    for block in blocks:
        for data in block["sections"]:
            section = Section.from_dict(data)
            for t in section.targets:
                subject = t.subject or section.title
                rows.append((block["name"], f"{subject}: {t.goal}", t.measured, "met" if t.met else "MISSED"))
            for c in section.failed:
                rows.append((block["name"], f"check: {c.name}", c.detail, "FAILED"))
    return rows


def write_results(blocks: list[dict]) -> None:
    RESULTS_JSON.write_text(json.dumps(blocks, indent=1, ensure_ascii=False) + "\n")
    out = [
        "# Latest benchmark results", "",
        "Written by `make bench` (`bench/__main__.py`) from `bench/results.json`: do not edit by hand. Each "
        "benchmark's block is from its latest run (`BENCH_ONLY=...` replaces only the blocks it runs). The "
        "machine is shared, so absolute figures drift with its load (printed with each block): compare the "
        "ratios, each against a baseline measured in the same run. How each benchmark works: `bench/README.md`.",
        "",
        "## Targets", "",
        "| benchmark | target | measured | |", "|---|---|---|---|",
    ]
    for name, goal, measured, verdict in _summary_rows(blocks):
        mark = verdict if verdict == "met" else f"**{verdict}**"
        out.append(f"| {name} | {goal.replace('|', '/')} | {measured.replace('|', '/')} | {mark} |")
    out.append("")
    out.extend(_block_markdown(block) for block in blocks)
    RESULTS_MD.write_text("\n".join(out).rstrip() + "\n")


def main() -> int:
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    facts = machine_facts()
    print(f"machine: {facts['host']}\nversions: {facts['versions']}", flush=True)
    ran = []
    for name in BENCHMARKS:
        if not only or name in only:
            ran.append({**run_one(name), **facts})

    try:
        previous = {block["name"]: block for block in json.loads(RESULTS_JSON.read_text())}
    except (OSError, ValueError):
        previous = {}
    latest = {**previous, **{block["name"]: block for block in ran}}
    blocks = [latest[name] for name in BENCHMARKS if name in latest]
    write_results(blocks)

    print("\n" + "=" * 100)
    for block in ran:
        print(f"\n[{block['name']}] {block['started']}, load average before {block['load_before']}, "
              f"after {block['load_after']}, {block['seconds']} s")
        for data in block["sections"]:
            print(render_text(Section.from_dict(data)) + "\n")
    summary = [row for row in _summary_rows(ran)]
    if summary:
        width = max(len(goal) for _, goal, _, _ in summary)
        print("targets and failed checks of this run:")
        for name, goal, measured, verdict in summary:
            print(f"  {verdict:7} {goal:{width}}  {measured}  [{name}]")
    print(f"\nwritten: {RESULTS_MD.relative_to(HERE.parent)}, {RESULTS_JSON.relative_to(HERE.parent)}")
    failed = any(Section.from_dict(data).failed for block in ran for data in block["sections"])
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        sys.exit(_child(sys.argv[2], sys.argv[3]))
    sys.exit(main())

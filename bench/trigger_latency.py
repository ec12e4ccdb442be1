"""Trigger latency (issue 10, item 2): placeholder being written."""


def main() -> None:
    raise SystemExit("trigger_latency: not written yet")

"""`python -m bench`: every benchmark, each printing its figures beside the baseline of the same run.
``BENCH_ONLY=intake_load`` (or ``webhook_intake``, ``dashboard``, ``trigger_latency``,
``writeback_rate``) runs one."""

import os

from bench import dashboard, intake_load, trigger_latency, webhook_intake, writeback_rate

BENCHMARKS = {
    "intake_load": intake_load.main,
    "webhook_intake": webhook_intake.main,
    "dashboard": dashboard.main,
    "trigger_latency": trigger_latency.main,
    "writeback_rate": writeback_rate.main,
}

if __name__ == "__main__":
    only = os.environ.get("BENCH_ONLY", "")
    for name, run in BENCHMARKS.items():
        if not only or name == only:
            run()

"""`python -m bench`: every benchmark, each printing its figures beside the baseline of the same run.
``BENCH_ONLY=dashboard`` (or ``webhook_intake``) runs one."""

import os

from bench import dashboard, webhook_intake

BENCHMARKS = {"webhook_intake": webhook_intake.main, "dashboard": dashboard.main}

if __name__ == "__main__":
    only = os.environ.get("BENCH_ONLY", "")
    for name, run in BENCHMARKS.items():
        if not only or name == only:
            run()

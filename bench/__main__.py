"""`python -m bench`: every benchmark, each printing its figures beside the baseline of the same run."""

from bench import webhook_intake

if __name__ == "__main__":
    webhook_intake.main()

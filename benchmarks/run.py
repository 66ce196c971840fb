"""Run every benchmark, one after another: `.venv/bin/python benchmarks/run.py` (each with its defaults).

Benchmarks run in sequence, never together, because each one measures a machine it assumes is idle.
Every `bench_*.py` here is a benchmark; they run in name order.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        failed |= subprocess.run([sys.executable, str(script)]).returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark, one after another: `.venv/bin/python benchmarks/run.py` (each with its defaults).

Benchmarks run in sequence, never together, because each one measures a machine it assumes is idle.
A benchmark file that is not there yet is skipped with a note.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_ingest.py", "bench_sdk.py")


def main() -> int:
    failed = 0
    for name in BENCHMARKS:
        script = HERE / name
        if not script.exists():
            print(f"== {name}: not present, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(script)]).returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())

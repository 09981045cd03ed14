"""Run every benchmark: ``python -m bench`` (or ``make bench``); ``python -m bench power`` for one."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv] or names
    print(
        "Abacus benchmarks: our time beside a baseline measured in the same run (ratio = ours / baseline)."
    )
    for name in wanted:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])

"""Run the benchmark sections and print one table.

Usage (from the project root, in the project's virtualenv)::

    python benchmarks/run.py                    # every section
    python benchmarks/run.py engine comparators # some sections
    python benchmarks/run.py --quick            # smoke run: 1 h recording, 20 windows

To add a section: write ``def section_x(opts) -> list[Row]`` (see ``bench_engine.py``) and add
it to ``SECTIONS`` below. Exit status 0 even when a target is missed (the table says MISSED).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cohort  # noqa: E402
import bench_compare  # noqa: E402
import bench_engine  # noqa: E402
import bench_store  # noqa: E402
import validity  # noqa: E402
from bench_engine import Options, Row  # noqa: E402

SECTIONS = {**bench_engine.SECTIONS, **bench_store.SECTIONS, **bench_compare.SECTIONS, **bench_cohort.SECTIONS,
            "analyze-json": validity.speed_rows}


def _print(rows: list[Row]) -> None:
    header = ["section", "metric", "value", "target", ""]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for k, c in enumerate(cells):
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sections", nargs="*", metavar="SECTION",
                   help=f"sections to run (default all: {', '.join(SECTIONS)})")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 h recording only, 20 windows")
    args = p.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    opts = Options(quick=args.quick)
    rows: list[Row] = []
    for name in args.sections or list(SECTIONS):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        section_rows = SECTIONS[name](opts)
        rows += section_rows
        _print(section_rows)
        print()
    print("summary")
    _print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

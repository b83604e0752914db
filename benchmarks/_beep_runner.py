"""Time TRI BEEP's structuring of one Arbin CSV. Runs inside the throwaway BEEP venv, not the project's.

    benchmarks/_work/beep-venv/bin/python benchmarks/_beep_runner.py ARBIN.csv RESULT.json V_MIN V_MAX NOMINAL_AH

Writes {"load_s", "summarize_s", "structure_s", "cycles", "summary_rows", "interpolated_rows"} to RESULT.json.
`structure()` is BEEP's full structuring (Q(V) interpolation of every charge and discharge step on a
1000-point grid, then the per-cycle summary); `summarize_cycles()` alone is the part comparable to
bmts.cycle_summary, timed on a separately loaded copy so the two do not share work.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("TQDM_OFF", "1")


def main() -> None:
    path, result, v_min, v_max, nominal = sys.argv[1:6]
    from beep.structure.arbin import ArbinDatapath

    logging.getLogger("beep").setLevel(logging.ERROR)
    started = time.perf_counter()
    datapath = ArbinDatapath.from_file(os.path.abspath(path))
    load_s = time.perf_counter() - started
    cycles = int(datapath.raw_data["cycle_index"].nunique())

    fresh = ArbinDatapath.from_file(os.path.abspath(path))
    started = time.perf_counter()
    summary = fresh.summarize_cycles(nominal_capacity=float(nominal), full_fast_charge=0.8)
    summarize_s = time.perf_counter() - started
    del fresh

    started = time.perf_counter()
    datapath.structure(v_range=[float(v_min), float(v_max)], resolution=1000, nominal_capacity=float(nominal))
    structure_s = time.perf_counter() - started
    with open(result, "w") as fh:
        json.dump(
            {
                "load_s": load_s,
                "summarize_s": summarize_s,
                "structure_s": structure_s,
                "cycles": cycles,
                "summary_rows": len(summary),
                "interpolated_rows": len(datapath.structured_data),
            },
            fh,
        )


if __name__ == "__main__":
    main()

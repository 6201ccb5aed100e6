"""``make bench``: run every benchmark module listed in BENCHMARKS, then one summary table.

    python -m bench                 # all of them, in order
    python -m bench slo_eval pages  # some

Each entry is a module under bench/ with ``main() -> int`` (0 when its goals were met)
that reports each goal row with ``bench._support.record``. The summary lists every row
recorded (figure, measured value with its reference, goal, met); a module that recorded
none is listed by its exit code. Exit status 1 when any goal was missed.
"""

import importlib
import sys
import time
import traceback

from bench import _support

# One module per line, so each branch's registration merges on its own line.
BENCHMARKS: list[str] = [
    "ingest",
    "slo_eval",
    "watchdog",
    "playbook_latency",
    "pages",
    "prom_ingest",
    "store_bytes",
    "mass_breach",
    "backtest",
    "sdk_emit",
]


def _summary(rows: list[tuple[str, _support.Result]]) -> list[str]:
    width = max((len(r.figure) for _, r in rows), default=6)
    goal = max((len(r.goal) for _, r in rows), default=4)
    lines = [f"{'figure':{width}}  {'met':6}  {'goal':{goal}}  measured (reference, same run)"]
    for _, r in rows:
        met = "met" if r.met else "MISSED"
        lines.append(f"{r.figure:{width}}  {met:6}  {r.goal:{goal}}  {r.value}")
    return lines


def main() -> int:
    wanted = sys.argv[1:] or BENCHMARKS
    rows: list[tuple[str, _support.Result]] = []
    failed = []
    for name in wanted:
        print(f"\n=== bench.{name} ({_support.load_average()}) ===", flush=True)
        before = len(_support.RESULTS)
        started = time.monotonic()
        try:
            code = importlib.import_module(f"bench.{name}").main()
        except Exception:  # one module's crash must not hide the others' figures
            traceback.print_exc()
            code = "crashed"
        recorded = _support.RESULTS[before:]
        if not recorded or code == "crashed":
            recorded.append(_support.Result(f"bench.{name}", f"exit {code}", "exit 0", False))
        rows += [(name, r) for r in recorded]
        if code != 0 or not all(r.met for r in recorded):
            failed.append(name)
        print(f"({time.monotonic() - started:.0f} s; {_support.load_average()})", flush=True)
    print(f"\n=== summary ({_support.load_average()}) ===")
    print("\n".join(_summary(rows)))
    if failed:
        print(f"\ngoal missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

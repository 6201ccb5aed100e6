"""``make bench``: run every benchmark module listed in BENCHMARKS, in order."""

import importlib
import sys

# Each entry is a module under bench/ with a ``main() -> int`` (0 when its goal was met).
BENCHMARKS: list[str] = ["watchdog", "ingest", "slo_eval", "playbook_latency", "pages", "sdk_emit"]


def main() -> int:
    wanted = sys.argv[1:] or BENCHMARKS
    failed = []
    for name in wanted:
        print(f"\n=== bench.{name} ===", flush=True)
        if importlib.import_module(f"bench.{name}").main() != 0:
            failed.append(name)
    if failed:
        print(f"\ngoal missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

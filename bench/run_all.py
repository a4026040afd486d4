"""Every benchmark of issue #10 beside its baseline, in one run; rewrites BENCHMARKS.md.

    scripts/bench [--quick] [--only item1,item3]

This process pins itself to CPU 1 with the load generators; every server it starts is pinned
to CPU 0. The figures of every repetition, their medians and the ratios go between the
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers of BENCHMARKS.md; everything outside
them is left as it is. The raw results are also written to ``bench/last-run.json``.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _harness import LOAD_CPU, ROOT, can_pin, embedded_stack, machine_facts, raise_fd_limit
from benchmarks_md import rewrite
from report import render

ITEMS = ("item1", "item2", "item3", "item4", "item5", "item6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 repetition, short runs (smoke test)"
    )
    parser.add_argument("--only", default=",".join(ITEMS), help="comma-separated items")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    arguments = parser.parse_args()
    items = {item.strip() for item in arguments.only.split(",") if item.strip()}
    unknown = items - set(ITEMS)
    if unknown:
        parser.error(f"unknown items: {', '.join(sorted(unknown))}")

    if can_pin():
        os.sched_setaffinity(0, {LOAD_CPU})
    raise_fd_limit()
    started = time.monotonic()
    raw: dict[str, Any] = {"facts": machine_facts(), "quick": arguments.quick}
    raw["command"] = (
        "scripts/bench"
        + (" --quick" if arguments.quick else "")
        + (f" --only {','.join(sorted(items))}" if items != set(ITEMS) else "")
    )
    http = items & {"item1", "item2", "item4", "item5"}
    if http or "item3" in items:
        with embedded_stack("jeex-bench-") as stack:
            if http:
                import http_items

                # Item 4 is measured under item 1's load.
                raw["http"] = http_items.run(
                    stack, http | ({"item1"} if "item4" in http else set()), arguments.quick
                )
                log("HTTP items done", started)
            if "item3" in items:
                import turns

                raw["turns"] = turns.run(stack, arguments.quick)
                log("turns done", started)
    if "item6" in items:
        import startup

        raw["startup"] = startup.run(arguments.quick)
        log("start-up done", started)
    raw["minutes"] = (time.monotonic() - started) / 60
    (ROOT / "bench" / "last-run.json").write_text(json.dumps(raw, indent=1))
    rewrite(arguments.output, render(raw))
    log(f"wrote {arguments.output}", started)


def log(message: str, started: float) -> None:
    print(f"[{(time.monotonic() - started) / 60:5.1f} min] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


if __name__ == "__main__":
    main()

"""``python -m benchmarks [scenario ...] [--quick] [--json PATH] [--plot PATH]``."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable
from typing import Any

from . import (
    baselines,
    cli,
    connectors,
    fanout,
    fleet,
    lanes,
    overhead,
    pacing,
    profile,
    shared,
    soak,
    telemetry,
    tokens,
)
from ._common import SERIES
from ._plot import plot

SCENARIOS: dict[str, Callable[[bool], list[dict[str, Any]]]] = {
    "overhead": overhead.overhead,
    "profile": profile.profile,
    "telemetry": telemetry.telemetry,
    "fanout-methods": fanout.by_method,
    "fanout-limit": fanout.at_the_limit,
    "baselines": baselines.baselines,
    "many-connectors": connectors.many_connectors,
    "lanes": lanes.lanes,
    "fanout-kill": fanout.sigkill_and_resume,
    "fanout-faults": fanout.with_faults,
    "fanout-memory": fanout.memory,
    "token-renewal": tokens.renewal_under_load,
    "redis-fleet": shared.fleet,
    "pacing-stress": pacing.pacing_stress,
    "cli-loop": cli.cli_loop,
    "soak": soak.soak,
    "fleet": fleet.fleet,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], metavar="scenario",
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="write every scenario's rows here")
    parser.add_argument("--plot", metavar="PATH",
                        help="write a PNG of calls per window against the limit, per contender")  # fmt: skip
    args = parser.parse_args(argv)
    chosen = args.scenarios or list(SCENARIOS)
    results: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "quick": args.quick,
    }  # fmt: skip
    for name in chosen:
        results[name] = SCENARIOS[name](args.quick)
    if args.plot:
        if SERIES:
            plot(SERIES, args.plot)
        else:
            print("--plot: none of the chosen scenarios records calls over time", file=sys.stderr)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

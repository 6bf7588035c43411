"""Soak: the real agent at 1,000 comments/s for 10 minutes; memory must stay flat.

Same set-up as ``benchmarks/load.py`` (loopback relay → ``python -m agent run`` → Mosquitto
→ subscriber). The agent's RSS is sampled every 10 s. The baseline is the first sample after
the warm-up (model loaded, connections up, queues and alert groups at their working size:
a sixth of the run, at most 60 s); the run fails (exit 1) when the peak RSS after it grows
more than 10 % over that baseline, or when the agent shed or left undelivered alerts.
Alert grouping runs with the default ``quiet_seconds`` (300 s): nobody acknowledges or
resolves alerts here, so a shorter one would grow the alert book by design, not by a leak.

    .venv/bin/python benchmarks/soak.py                  # 10 minutes, 50 rooms × 20/s
    .venv/bin/python benchmarks/soak.py --minutes 1      # a quick look

Not part of ``make test``; ``make soak`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

# Run from a checkout: ``load`` sits next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import figures, machine, print_table, run_once

MAX_GROWTH = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000.0, help="comments per second in total")
    parser.add_argument("--every", type=float, default=10.0, help="RSS sample interval, seconds")
    parser.add_argument("--quiet", type=float, default=300.0,
                        help="aggregate.quiet_seconds (the default config's)")  # fmt: skip
    args = parser.parse_args()
    seconds = args.minutes * 60
    result = asyncio.run(
        run_once(
            args.rooms, args.rate / args.rooms, seconds, sample_every=args.every, quiet=args.quiet
        )
    )
    warmup = min(60.0, seconds / 6)
    after = [(t, rss) for t, rss in result.rss_samples if t >= warmup]
    if not after:
        print("no RSS samples after the warm-up; run longer", file=sys.stderr)
        return 1
    baseline, peak = after[0][1], max(rss for _, rss in after)
    growth = peak / baseline - 1
    print(f"machine: {machine()}")
    print_table([figures(result)])
    print("RSS samples (s: MB): " + ", ".join(f"{t:.0f}: {rss / 2**20:.1f}"
                                             for t, rss in result.rss_samples))  # fmt: skip
    print(
        f"baseline {baseline / 2**20:.1f} MB at {after[0][0]:.0f} s, peak after warm-up "
        f"{peak / 2**20:.1f} MB: growth {100 * growth:+.1f}% (limit {100 * MAX_GROWTH:.0f}%)"
    )
    problems = []
    if growth > MAX_GROWTH:
        problems.append(f"peak RSS grew {100 * growth:.1f}%")
    if result.shed:
        problems.append(f"{result.shed:.0f} comments shed")
    if result.undelivered:
        problems.append(f"{result.undelivered:.0f} alert versions undelivered")
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

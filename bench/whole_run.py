"""The whole ``make bench`` run: how long it took from its start (the install included), what it had to create
first (the scale-1 workspace, the 1,000 workspaces) and each benchmark's exit code. ``make bench`` calls it
last: ``bench/whole_run.py --started EPOCH --codes M E W T C``. Target (issue 9): within 20 minutes on this
machine from a clean clone. Results: ``bench/results/run.json`` and the first section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import metrics_bench as mb  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "run.json"
TARGET_MINUTES = 20
NAMES = ("metrics", "export", "web", "tenants", "celery")


def _read(name: str) -> dict:
    return mb.stored(ROOT / "bench" / "results" / name) or {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--started", type=float, required=True, help="epoch seconds when make bench began")
    parser.add_argument("--codes", type=int, nargs=len(NAMES), required=True)
    args = parser.parse_args(argv)
    seconds = time.time() - args.started
    metrics, tenants = _read("latest.json"), _read("tenants.json")
    workspace = metrics.get("workspace") or {}
    result = {
        "seconds": round(seconds, 1),
        "commit": mb.commit(),
        "exit_codes": dict(zip(NAMES, args.codes, strict=True)),
        "generated_workspace_seconds": None if workspace.get("reused", True) else workspace.get("seconds"),
        "created_workspaces": (tenants.get("created") or {}).get("created", 0),
        "created_workspaces_seconds": (tenants.get("created") or {}).get("seconds", 0),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    mb.publish(RESULTS, result, section(result))
    return 0 if seconds <= TARGET_MINUTES * 60 else 1


def section(result: dict | None = None) -> str:
    """The whole-run part of BENCHMARKS.md, from the latest run."""
    result = result or mb.stored(RESULTS)
    if result is None:
        return ""
    minutes = result["seconds"] / 60
    made = []
    if result["generated_workspace_seconds"] is not None:
        made.append(f"generated the scale-1 workspace ({result['generated_workspace_seconds']:.0f} s)")
    if result["created_workspaces"]:
        count, took = result["created_workspaces"], result["created_workspaces_seconds"]
        made.append(f"created {count:,} workspaces ({took:.0f} s)")
    first = "; it " + " and ".join(made) if made else "; it reused the workspaces an earlier run made"
    codes = ", ".join(f"{name} {code}" for name, code in result["exit_codes"].items())
    met = "yes" if minutes <= TARGET_MINUTES else "NO"
    return "\n".join(
        [
            "## The whole run (issue 9)",
            "",
            f"`make bench` finished {result['finished_at']} on commit {result['commit']} in "
            f"{result['seconds']:,.0f} s ({minutes:.1f} min; target within {TARGET_MINUTES} min: {met}), "
            f"counted from the start of `make bench`, its install included{first}. Exit codes: {codes} "
            "(1 is a target not met).",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

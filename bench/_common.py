"""Helpers shared by the bench scripts (run by bench/run; not part of the app).

Every script here reads its settings from the environment that bench/run
exports (DATABASE_URL of the bench database, REDIS_URL of the bench Redis
database, SECRET_KEY, ...), so it never touches development data.
"""

import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict:
    """p50/p95/p99/max/mean in milliseconds of a list of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
    }


def write_json(path: str | Path, data) -> None:
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)

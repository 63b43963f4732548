"""Small statistics for the benchmark's numbers."""

from __future__ import annotations

import math
from typing import Sequence


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (`q` in 0..1) of `values`; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: Sequence[float], digits: int = 4) -> dict[str, float]:
    """p50, p99 and max, rounded."""
    return {
        "p50": round(quantile(values, 0.50), digits),
        "p99": round(quantile(values, 0.99), digits),
        "max": round(max(values), digits) if values else 0.0,
    }

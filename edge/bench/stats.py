"""Small helpers for reporting latencies."""

from __future__ import annotations

import time


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of samples (seconds in, seconds out)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def timed(action, items) -> list[float]:
    """Seconds each call of ``action(item)`` took."""
    samples = []
    for item in items:
        start = time.perf_counter()
        action(item)
        samples.append(time.perf_counter() - start)
    return samples


def report_paths(echo, paths: list[tuple[str, list[float]]], budget_seconds: float) -> float:
    """A p50/p99 table of the paths measured, floor first, HTTP last; returns the HTTP p99."""
    echo(f"{'path':<28}{'p50':>12}{'p99':>12}")
    for name, values in paths:
        echo(f"{name:<28}{ms(percentile(values, 0.5)):>12}{ms(percentile(values, 0.99)):>12}")
    (_, floor), (_, domain), (_, over_http) = paths[0], paths[1], paths[-1]
    p99 = percentile(over_http, 0.99)
    echo(f"HTTP p99 {p99 * 1000:.2f} ms against a budget of {budget_seconds * 1000:.0f} ms: "
         f"{'within' if p99 < budget_seconds else 'OVER'} budget; "
         f"domain p50 = {percentile(domain, 0.5) / percentile(floor, 0.5):.1f}× the floor")
    return p99

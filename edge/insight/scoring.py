"""Pure rules on numpy columns: RFM scores, the eight RFM segments, lifecycle stages.

Kept apart from SQL so the rules are read (and tested) on their own; every function works on whole columns
at once, so a full rebuild never loops over members in Python.
"""

from __future__ import annotations

import numpy as np

# (R high, F high, M high) → segment; the classic eight of RFM analysis
SEGMENTS = {
    (True, True, True): "重要价值",
    (False, True, True): "重要保持",
    (True, False, True): "重要发展",
    (False, False, True): "重要挽留",
    (True, True, False): "一般价值",
    (False, True, False): "一般保持",
    (True, False, False): "一般发展",
    (False, False, False): "一般挽留",
}
SEGMENT_NAMES = tuple(SEGMENTS.values())
LIFECYCLES = ("new", "active", "at-risk", "sleeping", "lost")


def score_higher(values, cuts) -> np.ndarray:
    """Frequency and monetary: 1 below the first cut point, +1 for each cut point reached."""
    return 1 + np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(values, dtype=float), side="right")


def score_recency(days, cuts) -> np.ndarray:
    """Recency: 5 within the first cut point (days), −1 past each further one."""
    return 5 - np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(days, dtype=float), side="left")


def quintile_cuts(values: np.ndarray) -> list[float]:
    """The 20/40/60/80 % quantiles, the usual RFM quintile cut points."""
    if len(values) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(v) for v in np.quantile(np.asarray(values, dtype=float), [0.2, 0.4, 0.6, 0.8])]


def segments(r, f, m, high: int) -> np.ndarray:
    """Each member's segment: a score at least ``high`` counts as high."""
    r_high, f_high, m_high = (np.asarray(v) >= high for v in (r, f, m))
    out = np.empty(len(r_high), dtype=object)
    for (rh, fh, mh), name in SEGMENTS.items():
        out[(r_high == rh) & (f_high == fh) & (m_high == mh)] = name
    return out


def lifecycle(days_since: np.ndarray, interval: np.ndarray, days_since_first: np.ndarray, *, new_days: int,
              at_risk_after: float, sleeping_after: float, lost_after: float) -> np.ndarray:
    """Stage from the days since the last visit measured in the member's own usual interval.

    ≤ at_risk_after intervals: active (new while the first visit — or, for a member who never bought, joining —
    is within new_days); then at-risk, sleeping, and past lost_after intervals lost.
    """
    ratio = np.asarray(days_since, dtype=float) / np.asarray(interval, dtype=float)
    stage = np.full(len(ratio), "active", dtype=object)
    stage[ratio > at_risk_after] = "at-risk"
    stage[ratio > sleeping_after] = "sleeping"
    stage[ratio > lost_after] = "lost"
    stage[(stage == "active") & (np.asarray(days_since_first) <= new_days)] = "new"
    return stage

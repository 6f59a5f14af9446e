"""How good the predictions are: fit BG/NBD on a calibration period, compare with what members did next.

The store's member purchase days are split at ``cutoff``; members who bought in calibration are scored on the
holdout window that follows. Figures: purchases predicted vs actual (total and mean absolute error per member,
against a naive "same rate as before" baseline), and for P(buy in window) the Brier score, the AUC and the
observed share of buyers among the members given ≥ 50 %.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from edge.insight import bgnbd
from edge.insight.tags import SALE_DAY


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    positives, negatives = label.sum(), (~label).sum()
    if not positives or not negatives:
        return float("nan")
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable") + 1
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def evaluate(app, *, cutoff: date, holdout_days: int) -> dict:
    end = cutoff + timedelta(days=holdout_days)
    rows = app.db.peewee.execute_sql(
        "SELECT member_id, COUNT(DISTINCT CASE WHEN day <= :c THEN day END), "
        "julianday(MAX(CASE WHEN day <= :c THEN day END)) - julianday(MIN(day)), "
        "julianday(:c) - julianday(MIN(day)), "
        "COUNT(DISTINCT CASE WHEN day > :c AND day <= :e THEN day END) "
        f"FROM (SELECT s.member_id, {SALE_DAY} AS day FROM sale s "
        "WHERE s.status = 'completed' AND s.member_id IS NOT NULL) "
        "WHERE day <= :e GROUP BY member_id HAVING MIN(day) <= :c",
        {"c": cutoff.isoformat(), "e": end.isoformat()}).fetchall()
    if len(rows) < 10:
        raise ValueError(f"only {len(rows)} members bought before {cutoff}: too few to judge")
    days, t_x, T, actual = (np.array(column, dtype=float) for column in list(zip(*rows))[1:])
    x = days - 1
    params = bgnbd.fit(x, t_x, T)
    predicted = bgnbd.expected_purchases(params, holdout_days, x, t_x, T)
    p_buy = bgnbd.p_buy_within(params, holdout_days, x, t_x, T)
    baseline = days / np.maximum(T, 1) * holdout_days  # the member's own past rate, kept up
    bought = actual > 0
    confident = p_buy >= 0.5
    return {
        "members": len(rows), "cutoff": cutoff.isoformat(), "holdout_days": holdout_days,
        "params": {k: round(v, 4) for k, v in params.as_dict().items()},
        "purchase_days": {"actual": int(actual.sum()), "predicted": round(float(predicted.sum()), 1),
                          "baseline": round(float(baseline.sum()), 1)},
        "mae_per_member": {"bgnbd": round(float(np.abs(predicted - actual).mean()), 4),
                           "baseline": round(float(np.abs(baseline - actual).mean()), 4)},
        "p_buy": {"brier": round(float(((p_buy - bought) ** 2).mean()), 4), "auc": round(_auc(p_buy, bought), 4),
                  "share_buying": round(float(bought.mean()), 4), "mean_p": round(float(p_buy.mean()), 4),
                  "buyers_among_p_over_half": round(float(bought[confident].mean()), 4) if confident.any()
                  else None},
    }

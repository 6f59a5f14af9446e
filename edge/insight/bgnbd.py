"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005), fitted with scipy.

P. S. Fader, B. G. S. Hardie, K. L. Lee, "'Counting Your Customers' the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2):275-284, 2005. http://brucehardie.com/papers/018/

While alive, a member buys at a Poisson rate λ (gamma-distributed across members, shape r, scale 1/α); after
each purchase they drop out for good with probability p (beta-distributed, a, b). A member is summarised by
x (repeat purchase days after the first), t_x (day of the last purchase, counted from the first) and T (days
from the first purchase to the day the profile is judged). All functions take numpy arrays.

The maintained libraries (lifetimes, btyd) were checked first: see README "Customer insight" for why this
module exists. Formulas: likelihood (paper eq. 6), P(alive) (eq. 11), conditional expectation (eq. 10); the
chance of at least one purchase in the next t days is P(alive)·(1 − ((α+T)/(α+T+t))^(r+x)), because, given
alive, λ | data ~ Gamma(r+x, α+T) and dropping out only happens right after a purchase.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


@dataclass(frozen=True)
class Params:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict:
        return asdict(self)


def _log_likelihood(params: Params, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(a3, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


FIT_SAMPLE = 50_000


def fit(x, t_x, T, seed: int = 1) -> Params:
    """Maximum likelihood over members grouped by identical (x, t_x, T), on log parameters (all positive).

    Above FIT_SAMPLE members a seeded random sample of that size is fitted: four parameters are pinned down
    long before that, and the fit stays seconds at a million members."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) < 2 or not (x > 0).any():
        raise ValueError("BG/NBD needs at least two buyers and some repeat purchases to fit")
    if len(x) > FIT_SAMPLE:
        pick = np.random.default_rng(seed).choice(len(x), FIT_SAMPLE, replace=False)
        x, t_x, T = x[pick], t_x[pick], T[pick]
    keys, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    gx, gt, gT = keys[:, 0], keys[:, 1], keys[:, 2]
    scale = max(gT.max(), 1.0)  # days are rescaled for the optimiser; α scales back below

    def negative(log_params):
        r, alpha, a, b = np.exp(log_params)
        value = -(weights * _log_likelihood(Params(r, alpha, a, b), gx, gt / scale, gT / scale)).sum()
        return value / weights.sum() if np.isfinite(value) else 1e12

    # bounded: when dropout hardly varies across members a and b grow without limit (their ratio is what counts)
    best = minimize(negative, np.zeros(4), method="L-BFGS-B", bounds=[(-10.0, 12.0)] * 4)
    r, alpha, a, b = np.exp(best.x)
    return Params(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def p_alive(params: Params, x, t_x, T) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(params: Params, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (paper eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    if abs(a - 1) < 1e-9:  # the closed form divides by a − 1
        a += 1e-6
    tail = ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - tail) * p_alive(params, x, t_x, T)


def p_buy_within(params: Params, t: float, x, t_x, T) -> np.ndarray:
    """P(at least one purchase in the next t days)."""
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    none_if_alive = ((params.alpha + T) / (params.alpha + T + t)) ** (params.r + x)
    return p_alive(params, x, t_x, T) * (1 - none_if_alive)


def median_wait_if_alive(params: Params, x, T) -> np.ndarray:
    """Days until an alive member has even odds of having bought again: our "next purchase date"."""
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    return (params.alpha + T) * (2.0 ** (1.0 / (params.r + x)) - 1.0)

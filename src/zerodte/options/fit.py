"""Fit the surface and the bid/ask model to real quotes; leave-one-day-out errors.

Used by ``zerodte options calibrate`` (docs/options.md, "Real quotes"). Pure functions
on DataFrames; the caller reads the store.

Data (:func:`prepare`): every quote of the root with ``dte`` = 0 whose last bid/ask of the
minute is two-sided (bid >= 0, ask > bid), taken at the bar end; the forward from
put-call parity per minute (as :mod:`zerodte.options.calibration`); VIX as known at that
minute; the implied vol of the OTM side where its bid is positive.

Fit on a set of days (:func:`fit`):

* surface: ``zero_dte_term_mult``, ``skew_slope``, ``smile_curvature`` by robust least
  squares on OTM quotes with mid >= $0.50 (below that the tick dominates), once without
  and once with the time-of-day level ``D`` of docs/options.md; the lower training median
  absolute IV error wins (2 configurations);
* spreads: ``base_spread_pct``, ``spread_moneyness_mult``, ``spread_close_mult`` and
  ``itm_spread_share`` minimising the mean absolute log ratio of modelled to real spread
  on every two-sided quote (Nelder-Mead), with the root's ticks and a one-tick bid floor.

Errors (:func:`errors`) compare the model's quote (its own mid and spread) with the real
one: IV (OTM, mid >= $0.50), mid (relative) and spread (relative, ``model / real - 1``), by
moneyness (ATM: ``|z| < 0.5``; ITM/OTM beyond) and by minutes to the close; plus the count
of modelled bids (asks) below one tick where the real market bid (offered) at least one.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize

from zerodte.config.settings import OptionsSettings
from zerodte.options.calibration import vix_at
from zerodte.options.contracts import rules_for
from zerodte.options.expiry import year_fraction
from zerodte.options.iv import implied_vol
from zerodte.options.model import OptionModel

TOD_MINUTES = (15.0, 30.0, 60.0, 90.0)
TOD_MULT = (1.6, 1.35, 1.2, 1.0)
"""The time-of-day level of docs/options.md (fitted on 2021-01-04's last hour)."""
TIME_BUCKETS = (0.0, 30.0, 60.0, 120.0, 240.0, 420.0)
SPREAD_KEYS = ("base_spread_pct", "spread_moneyness_mult", "spread_close_mult", "itm_spread_share")


def prepare(quotes: pd.DataFrame, vix: pd.DataFrame, rate: float = 0.001) -> pd.DataFrame:
    """Two-sided 0DTE quotes with ``mid, spread, mte, fwd, iv, x, otm, vix, day``.

    ``vix``: the Cboe daily table (``date, open, close``) or stored VIX bars
    (``timestamp, close`` at any interval, joined as of the bar end).
    """
    if quotes.empty:  # an empty store's frame has an untyped timestamp: no .dt on it
        return _no_rows(quotes)
    q = quotes[(quotes["expiry"].astype(str) == quotes["timestamp"].dt.date.astype(str))].copy()
    q = q[(q["bid_close"] >= 0) & (q["ask_close"] > q["bid_close"])]
    q["mid"] = 0.5 * (q["bid_close"] + q["ask_close"])
    q["spread"] = q["ask_close"] - q["bid_close"]
    q["time_end"] = q["timestamp"] + pd.Timedelta(minutes=1)
    close = pd.to_datetime(q["expiry"].astype(str)).dt.tz_localize("America/New_York")
    q["mte"] = (close + pd.Timedelta(hours=16) - q["time_end"]).dt.total_seconds() / 60.0
    q = q[q["mte"] > 0]
    if q.empty:
        return _no_rows(quotes)
    keys = ["timestamp", "strike"]
    wide = q.pivot_table(index=keys, columns="right", values="mid")
    if not {"C", "P"} <= set(wide.columns):  # no call-put pair: no parity forward
        return _no_rows(quotes)
    wide = wide.dropna()
    disc = np.exp(-rate * year_fraction(q.groupby(keys)["mte"].first().reindex(wide.index)))
    fwd = (wide.index.get_level_values("strike") + (wide["C"] - wide["P"]) / disc).groupby(
        level="timestamp"
    )
    q = q.join(fwd.mean().rename("fwd"), on="timestamp").dropna(subset=["fwd"])
    t = year_fraction(q["mte"].to_numpy())
    is_call = (q["right"] == "C").to_numpy()
    spot = q["fwd"].to_numpy() * np.exp(-rate * t)
    iv = implied_vol(q["mid"].to_numpy(), spot, q["strike"].to_numpy(), t, rate, 0.0, is_call)
    q["iv"] = np.where(q["bid_close"] > 0, iv, np.nan)
    q["x"] = np.log(q["strike"] / q["fwd"])
    q["otm"] = np.where(is_call, q["x"] >= 0, q["x"] < 0)
    q["vix"] = _vix(q["time_end"], vix)
    q["day"] = q["timestamp"].dt.date
    return q[np.isfinite(q["vix"])].reset_index(drop=True)


PREPARED = ("mid", "spread", "time_end", "mte", "fwd", "iv", "x", "otm", "vix", "day")


def _no_rows(quotes: pd.DataFrame) -> pd.DataFrame:
    """What :func:`prepare` returns when no quote qualifies: its columns, no rows."""
    return quotes.iloc[:0].reindex(columns=[*quotes.columns, *PREPARED])


def _vix(times: pd.Series, vix: pd.DataFrame) -> np.ndarray:
    if "date" in vix.columns:
        return vix_at(times, vix)
    bars = vix.sort_values("timestamp")
    ends = bars["timestamp"] + pd.Timedelta(minutes=1)  # a bar is known at its end
    left = pd.DataFrame({"t": times.to_numpy(), "i": np.arange(len(times))}).sort_values("t")
    right = pd.DataFrame({"t": ends.to_numpy(), "v": bars["close"].to_numpy()})
    got = pd.merge_asof(left, right, on="t", direction="backward")
    out = np.full(len(times), np.nan)
    out[got["i"].to_numpy()] = got["v"].to_numpy()
    return out


def _model(base: OptionsSettings, params: dict[str, Any]) -> OptionModel:
    # priced off the parity forward: r = q = 0 makes S e^{(r-q)T} = F
    return OptionModel(
        base.model_copy(update={**params, "risk_free_rate": 0.0, "dividend_yield": 0.0})
    )


def model_quotes(rows: pd.DataFrame, base: OptionsSettings, params: dict[str, Any]) -> pd.DataFrame:
    """The model's ``bid, ask, mid, iv, z`` at every row (spot = the parity forward)."""
    m = _model(base, params)
    is_call = (rows["right"] == "C").to_numpy()
    spot, strike = rows["fwd"].to_numpy(), rows["strike"].to_numpy()
    mte, vix = rows["mte"].to_numpy(), rows["vix"].to_numpy()
    p = m.price(spot, strike, is_call, mte, vix)
    _, z = m.surface.iv_z(spot, strike, mte, vix)
    return pd.DataFrame({k: p[k] for k in ("bid", "ask", "mid", "iv")} | {"z": z}, index=rows.index)


def root_params(root: str) -> dict[str, Any]:
    """The listing parameters of ``root`` and the one-tick bid floor."""
    rules = rules_for(root)
    return {
        "underlying": rules.root,
        "tick": rules.tick_low,
        "min_spread": rules.tick_low,
        "strike_step": rules.strike_step,
        "bid_floor_ticks": 1,
    }


def fit_surface(rows: pd.DataFrame, base: OptionsSettings) -> dict[str, Any]:
    """Surface parameters (module docstring) fitted on ``rows``."""
    use = rows[np.isfinite(rows["iv"]) & rows["otm"] & (rows["mid"] >= 0.5)]
    best: tuple[float, dict[str, Any]] | None = None
    for tod in ((), (TOD_MINUTES, TOD_MULT)):
        extra: dict[str, Any] = {
            "zero_dte_tod_minutes": tod[0] if tod else (),
            "zero_dte_tod_mult": tod[1] if tod else (),
        }

        def resid(p: np.ndarray, extra: dict[str, Any] = extra) -> np.ndarray:
            params = {
                "zero_dte_term_mult": p[0],
                "skew_slope": p[1],
                "smile_curvature": p[2],
                **extra,
            }
            surface = _model(base, params).surface
            model = surface.iv(use["fwd"], use["strike"], use["mte"], use["vix"])
            return np.asarray(model - use["iv"].to_numpy())

        x0 = np.array([base.zero_dte_term_mult, base.skew_slope, base.smile_curvature])
        fit = least_squares(
            resid, x0, loss="soft_l1", f_scale=0.05, bounds=([0.5, -1.0, -0.2], [4.0, 1.0, 0.5])
        )
        err = float(np.median(np.abs(resid(fit.x))))
        params = {
            "zero_dte_term_mult": float(fit.x[0]),
            "skew_slope": float(fit.x[1]),
            "smile_curvature": float(fit.x[2]),
            **extra,
        }
        if best is None or err < best[0]:
            best = (err, params)
    assert best is not None
    return best[1]


def fit_spreads(
    rows: pd.DataFrame, base: OptionsSettings, params: dict[str, Any]
) -> dict[str, Any]:
    """Spread parameters (module docstring) fitted on ``rows`` with the surface ``params``."""
    real = rows["spread"].to_numpy()

    def loss(p: np.ndarray) -> float:
        if p[0] <= 0 or p[1] < 0 or p[2] < 0 or not 0 <= p[3] <= 1:
            return 1e9
        trial = {**params, **dict(zip(SPREAD_KEYS, (float(v) for v in p), strict=True))}
        q = model_quotes(rows, base, trial)
        ratio = (q["ask"] - q["bid"]).to_numpy() / real
        return float(np.nanmean(np.abs(np.log(ratio))))

    x0 = np.array([base.base_spread_pct, base.spread_moneyness_mult, base.spread_close_mult, 0.3])
    fit = minimize(loss, x0, method="Nelder-Mead", options={"maxiter": 300, "xatol": 1e-3})
    return dict(zip(SPREAD_KEYS, (float(v) for v in fit.x), strict=True))


def fit(rows: pd.DataFrame, base: OptionsSettings, root: str) -> dict[str, Any]:
    """Every fitted parameter on ``rows`` (surface, then spreads, plus the root's rules)."""
    params = {**root_params(root), **fit_surface(rows, replace_settings(base, root))}
    params.update(fit_spreads(rows, replace_settings(base, root), params))
    return params


def replace_settings(base: OptionsSettings, root: str) -> OptionsSettings:
    """``base`` with ``root``'s listing rules (so the model is valid for ``root``)."""
    return base.model_copy(update=root_params(root))


def _buckets(rows: pd.DataFrame, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    itm = ~rows["otm"].to_numpy()
    money = np.where(np.abs(z) < 0.5, "ATM", np.where(itm, "ITM", "OTM"))
    mtc = rows["mte"].to_numpy()
    labels = [f"{int(a)}-{int(b)}" for a, b in itertools.pairwise(TIME_BUCKETS)]
    when = np.asarray(pd.cut(mtc, TIME_BUCKETS, labels=labels).astype(str))
    return money, when


def _bucket_order(name: str) -> tuple[float, str]:
    head = name.split("-", 1)[0]
    return (float(head), name) if head.isdigit() else (-1.0, name)


def errors(rows: pd.DataFrame, base: OptionsSettings, params: dict[str, Any]) -> dict[str, Any]:
    """Model-vs-real errors of ``rows`` (module docstring) as JSON-ready tables."""
    q = model_quotes(rows, replace_settings(base, params.get("underlying", "SPY")), params)
    money, when = _buckets(rows, q["z"].to_numpy())
    iv_ok = (np.isfinite(rows["iv"]) & rows["otm"] & (rows["mid"] >= 0.5)).to_numpy()
    iv_err = np.abs(q["iv"].to_numpy() - rows["iv"].to_numpy())
    mid_err = q["mid"].to_numpy() / rows["mid"].to_numpy() - 1.0
    spread_err = (q["ask"] - q["bid"]).to_numpy() / rows["spread"].to_numpy() - 1.0
    tick = rules_for(params.get("underlying", "SPY")).tick_low

    def table(groups: np.ndarray) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for g in sorted(set(groups.tolist()), key=_bucket_order):
            sel = groups == g
            ivs = iv_err[sel & iv_ok]
            out[str(g)] = {
                "quotes": int(sel.sum()),
                "iv_quotes": len(ivs),
                "iv_median_abs": float(np.median(ivs)) if len(ivs) else None,
                "mid_median_abs_rel": float(np.median(np.abs(mid_err[sel]))),
                "spread_median_rel": float(np.median(spread_err[sel])),
                "spread_median_abs_rel": float(np.median(np.abs(spread_err[sel]))),
            }
        return out

    eps = 1e-9
    below_bid = (rows["bid_close"].to_numpy() >= tick - eps) & (q["bid"].to_numpy() < tick - eps)
    below_ask = (rows["ask_close"].to_numpy() >= tick - eps) & (q["ask"].to_numpy() < tick - eps)
    return {
        "quotes": len(rows),
        "iv_median_abs": float(np.median(iv_err[iv_ok])) if iv_ok.any() else None,
        "by_moneyness": table(money),
        "by_minutes_to_close": table(when),
        "below_tick": {"bid": int(below_bid.sum()), "ask": int(below_ask.sum())},
    }


def leave_one_day_out(rows: pd.DataFrame, base: OptionsSettings, root: str) -> list[dict[str, Any]]:
    """For each day: fit on the other days, the errors on that day."""
    out = []
    for day in sorted(set(rows["day"])):
        train, test = rows[rows["day"] != day], rows[rows["day"] == day]
        if train.empty:
            continue
        params = fit(train, base, root)
        out.append({"held_out": day.isoformat(), "params": params, **errors(test, base, params)})
    return out

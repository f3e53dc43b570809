"""Per-underlying parameter files: opt-in, root-checked, recorded; two-tier ticks and floors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zerodte.config.overrides import with_overrides
from zerodte.config.root import Settings
from zerodte.config.settings import OptionsSettings
from zerodte.errors import ConfigError
from zerodte.options.fit import root_params
from zerodte.options.model import OptionModel
from zerodte.options.params import apply_model_params, read_params, rescaled, save_params
from zerodte.options.quotes import BidAskModel


def _spxw(tmp: Path) -> Settings:
    return with_overrides(Settings(), {f"options.{k}": v for k, v in root_params("SPXW").items()})


def test_default_model_is_the_plain_formula() -> None:
    # the synthetic market's option model: none of the opt-in terms is on
    assert BidAskModel.from_settings(OptionsSettings()).plain
    assert Settings().options.model_params is None and Settings().options.underlying == "SPY"


def test_params_load_only_when_named_and_only_for_their_root(tmp_path: Path) -> None:
    path = save_params(
        tmp_path / "p.json",
        "SPXW",
        {"zero_dte_term_mult": 1.5, "base_spread_pct": 3.0},
        fitted_on={"days": ["2021-01-04"]},
    )
    same, record = apply_model_params(_spxw(tmp_path))
    assert record is None and same.options.zero_dte_term_mult == 1.66
    named = with_overrides(_spxw(tmp_path), {"options.model_params": str(path)})
    loaded, record = apply_model_params(named)
    assert loaded.options.zero_dte_term_mult == 1.5 and loaded.options.base_spread_pct == 3.0
    assert record is not None and record["root"] == "SPXW" and len(record["sha256"]) == 64
    assert record["fitted_on"] == ["2021-01-04"]
    spy = with_overrides(Settings(), {"options.model_params": str(path)})
    with pytest.raises(ConfigError, match="fitted on SPXW quotes and the run trades SPY"):
        apply_model_params(spy)


def test_a_non_artifact_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ConfigError, match="not a zerodte option-parameter file"):
        read_params(bad)


def test_rescaling_keeps_percentages_and_takes_the_target_rules(tmp_path: Path) -> None:
    body = read_params(
        save_params(tmp_path / "p.json", "SPXW", {**root_params("SPXW"), "base_spread_pct": 3.0})
    )
    moved = rescaled(body, "SPY")
    assert moved["root"] == "SPY" and moved["rescaled_from"] == "SPXW"
    assert moved["params"]["base_spread_pct"] == 3.0
    assert (moved["params"]["tick"], moved["params"]["strike_step"]) == (0.01, 1.0)


def test_index_roots_need_their_grid() -> None:
    with pytest.raises(ConfigError, match="5-point strikes"):
        with_overrides(Settings(), {"options.underlying": "SPXW"})


def test_two_tier_tick_and_bid_floor() -> None:
    opts = OptionsSettings(**root_params("SPXW"))
    m = OptionModel(opts)
    spot = np.full(4, 3700.0)
    strikes = np.array([3500.0, 3690.0, 3700.0, 3900.0])
    q = m.price(spot, strikes, False, np.full(4, 120.0), np.full(4, 22.0))
    for bid, ask in zip(q["bid"], q["ask"], strict=True):
        tick = 0.05 if ask < 3 else 0.10
        assert bid >= 0.05 - 1e-12  # the far-OTM floor: one tick, never zero
        assert abs(ask / tick - round(ask / tick)) < 1e-9
    for i, s in enumerate(strikes):  # the scalar twin agrees
        one = m.quote_values(3700.0, float(s), False, 120.0, 22.0)
        assert (one.bid, one.ask) == (q["bid"][i], q["ask"][i])


def test_itm_spread_share_narrows_itm_spreads_only() -> None:
    base = OptionsSettings(**root_params("SPXW"))
    share = base.model_copy(update={"itm_spread_share": 0.3})
    args = (
        np.array([3700.0, 3700.0]),
        np.array([3600.0, 3800.0]),
        True,
        np.array([120.0] * 2),
        np.array([22.0] * 2),
    )
    a, b = OptionModel(base).price(*args), OptionModel(share).price(*args)
    assert (b["ask"] - b["bid"])[0] < (a["ask"] - a["bid"])[0]  # ITM call: narrower
    assert (b["ask"] - b["bid"])[1] == (a["ask"] - a["bid"])[1]  # OTM call: unchanged

"""GEX, DEX, the zero-gamma flip and max pain against hand-computed chains, a published
worked example and the real open-interest file."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings
from zerodte.errors import ConfigError
from zerodte.market.loading import load_market
from zerodte.options.gex import (
    GammaInputs,
    exposures,
    holder_payoff,
    max_pain,
    validate_chain,
    zero_gamma_flip,
)
from zerodte.options.gex_at import gex_at
from zerodte.options.open_interest import (
    SyntheticOpenInterest,
    prior_day_chain,
    read_open_interest,
    synthetic_chains,
)

from .cli_helpers import refused

YEAR_MIN = 525_600.0


def _bs_gamma_delta(
    s: float, k: float, minutes: float, vol: float, call: bool
) -> tuple[float, float]:
    """Black-Scholes gamma and delta by hand (r = q = 0)."""
    t = minutes / YEAR_MIN
    d1 = (math.log(s / k) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(d1 / math.sqrt(2)))
    return pdf / (s * vol * math.sqrt(t)), cdf if call else cdf - 1.0


CHAIN = pd.DataFrame(
    {"strike": [100.0, 100.0, 95.0], "right": ["C", "P", "P"],
     "open_interest": [1000, 400, 2500], "iv": [0.20, 0.22, 0.25]}
)  # fmt: skip


@pytest.mark.parametrize("minutes", [390.0, 60.0, 5.0])
def test_gex_and_dex_by_hand(minutes: float) -> None:
    spot = 101.0
    out = exposures(CHAIN, spot, GammaInputs(minutes_to_expiry=minutes))
    for i, row in CHAIN.iterrows():
        g, d = _bs_gamma_delta(spot, row["strike"], minutes, row["iv"], row["right"] == "C")
        sign = 1.0 if row["right"] == "C" else -1.0
        oi = row["open_interest"]
        assert out.loc[i, "gamma"] == pytest.approx(g, rel=1e-9)
        assert out.loc[i, "gex"] == pytest.approx(sign * g * 100 * oi * spot**2 * 0.01, rel=1e-9)
        assert out.loc[i, "dex"] == pytest.approx(d * 100 * oi * spot, rel=1e-9, abs=1e-6)
    gross = exposures(CHAIN, spot, GammaInputs(minutes), convention="long_all")
    assert (gross["gex"] >= 0).all()
    assert gross["gex"].to_numpy() == pytest.approx(np.abs(out["gex"].to_numpy()))


def test_zero_dte_gamma_uses_the_minutes_left() -> None:
    """An ATM 0DTE option half an hour before the close has ~sqrt(390/30) its open gamma."""
    atm = CHAIN.iloc[[0]]
    late = exposures(atm, 100.0, GammaInputs(30.0))["gamma"].iloc[0]
    early = exposures(atm, 100.0, GammaInputs(390.0))["gamma"].iloc[0]
    assert late / early == pytest.approx(math.sqrt(390 / 30), rel=1e-3)
    full_day = exposures(atm, 100.0, GammaInputs(1440.0))["gamma"].iloc[0]
    assert late > 6 * full_day  # treating 0DTE as a full day understates gamma


def test_zero_gamma_flip_of_a_symmetric_chain() -> None:
    chain = pd.DataFrame(
        {"strike": [105.0, 95.0], "right": ["C", "P"], "open_interest": [1000, 1000],
         "iv": [0.2, 0.2]}
    )  # fmt: skip
    inputs = GammaInputs(390.0)
    flip = zero_gamma_flip(chain, 100.0, inputs, width=0.05, points=201)
    assert flip is not None and abs(flip - math.sqrt(105 * 95)) < 0.05
    # calls alone never flip sign
    assert zero_gamma_flip(chain.iloc[[0]], 100.0, inputs) is None


def test_max_pain_published_worked_example() -> None:
    """maximum-pain.com, "How to calculate max pain": XYZ at $100, strikes 95/100/105 with
    put OI 21/33/5 and call OI 9/45/25; the holders' cash value is $21,500 at 95, $7,000 at
    100 and $31,500 at 105, so max pain is 100."""
    chain = pd.DataFrame(
        {"strike": [95.0, 100.0, 105.0] * 2, "right": ["P"] * 3 + ["C"] * 3,
         "open_interest": [21, 33, 5, 9, 45, 25]}
    )  # fmt: skip
    assert holder_payoff(chain, [95.0, 100.0, 105.0]).tolist() == [21_500.0, 7_000.0, 31_500.0]
    assert max_pain(chain) == 100.0


def test_bad_chains_are_named() -> None:
    with pytest.raises(ValueError, match="missing column"):
        validate_chain(pd.DataFrame({"strike": [1.0]}))
    with pytest.raises(ValueError, match="row 1 has open_interest"):
        validate_chain(CHAIN.assign(open_interest=[1.0, float("nan"), 2.0]))
    with pytest.raises(ValueError, match="row 2 has open_interest=inf; open_interest must be a fi"):
        validate_chain(CHAIN.assign(open_interest=[1.0, 3.0, float("inf")]))
    with pytest.raises(ValueError, match="row 0 has strike"):
        validate_chain(CHAIN.assign(strike=[float("inf"), 100.0, 101.0]))
    with pytest.raises(ValueError, match="row 0 has right"):
        validate_chain(CHAIN.assign(right=["X", "P", "P"]))
    with pytest.raises(ValueError, match="surface"):
        exposures(CHAIN.drop(columns="iv"), 100.0, GammaInputs(60.0))


def test_synthetic_open_interest_model_uses_the_prior_close_only() -> None:
    m = SyntheticOpenInterest()
    c = m.chain(470.0, date(2024, 1, 3))
    calls, puts = c[c["right"] == "C"], c[c["right"] == "P"]
    # documented shape: calls peak above, puts below the prior close; round strikes double
    assert calls.loc[calls["open_interest"].idxmax(), "strike"] >= 470.0
    assert puts.loc[puts["open_interest"].idxmax(), "strike"] <= 470.0
    assert puts["open_interest"].sum() > calls["open_interest"].sum()
    oi = calls.set_index("strike")["open_interest"]
    assert oi[470.0] == round(2 * m.base * math.exp(-0.5 * ((470.0 - 470.0 * 1.004) / 4.7) ** 2))
    assert oi[470.0] > oi[471.0]  # 471 is nearer the calls' centre but not a round strike
    settings = Settings()
    frame = load_market(settings, days=3, seed=2, edge=1.0).frame
    chains = synthetic_chains(frame)
    days = sorted(set(pd.DatetimeIndex(frame.index).date))
    assert days[0] not in chains and set(chains) == set(days[1:])
    cut = frame[pd.DatetimeIndex(frame.index).date <= days[1]]
    # the second session's chain is the same whatever happens later
    pd.testing.assert_frame_equal(synthetic_chains(cut)[days[1]], chains[days[1]])
    res = gex_at(frame, pd.Timestamp(f"{days[2]} 15:00"), settings.options)
    assert res["minutes_to_close"] == 60.0 and res["max_pain"] == max_pain(chains[days[2]])
    with pytest.raises(ConfigError, match="first session"):
        gex_at(frame, pd.Timestamp(f"{days[0]} 10:00"), settings.options)


def test_real_open_interest(real_data_dir: Path) -> None:
    oi_path = real_data_dir / "options" / "lean_option_open_interest.parquet"
    if not oi_path.exists():
        pytest.skip(f"{oi_path} is not in ../shared/data/real")
    oi = read_open_interest(oi_path)
    day = date(2021, 1, 4)
    # LEAN dates a count by the morning it is published: the 0DTE SPXW chain of 2021-01-04
    chain = prior_day_chain(oi, day, day)
    assert sorted(zip(chain["strike"], chain["right"], chain["open_interest"], strict=True)) == [
        (3700.0, "C", 1732),
        (3700.0, "P", 3515),
        (3800.0, "C", 1949),
        (3820.0, "P", 5),
    ]
    # counted after the close instead, that day's own row is not yet known
    assert prior_day_chain(oi, day, day, dated="after_close").empty
    # max pain by hand: at 3700 the holders get 1949*0 + 5*120*100 = 60,000 (+ 0 for the
    # 3700s); at 3800 they get 1732*100*100 = 17,320,000 + 5*20*100 = 10,000
    pay = holder_payoff(chain, [3700.0, 3800.0, 3820.0])
    assert pay.tolist() == [60_000.0, 17_330_000.0, 1732 * 120 * 100 + 1949 * 20 * 100]
    assert max_pain(chain) == 3700.0
    bars = pd.read_parquet(real_data_dir / "options" / "lean_underlying_1min.parquet")
    ts = pd.Timestamp("2021-01-04 10:00", tz="America/New_York")
    spot = float(bars.loc[pd.to_datetime(bars["timestamp"]) == ts, "close"].iloc[0])
    minutes = 360.0  # 10:00 to the 16:00 close
    chain = chain.assign(iv=0.25)  # a stated volatility: the file has no quotes' IV
    out = exposures(chain, spot, GammaInputs(minutes))
    want = 0.0
    for _, r in chain.iterrows():
        g, _ = _bs_gamma_delta(spot, r["strike"], minutes, 0.25, r["right"] == "C")
        want += (1 if r["right"] == "C" else -1) * g * 100 * r["open_interest"] * spot**2 * 0.01
    assert out["gex"].sum() == pytest.approx(want, rel=1e-9)


def test_gex_command_json(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["options", "gex", "--days", "3", "--seed", "2", "--edge", "1", "--at",
         "2024-01-04 15:00", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["time"] == "2024-01-04T15:00:00-05:00" and data["minutes_to_close"] == 60.0
    assert {"net_gex", "net_dex", "zero_gamma_flip", "max_pain", "by_strike"} <= set(data)
    assert data["data_source"]["kind"] == "synthetic"
    oi = tmp_path / "oi.parquet"
    pd.DataFrame(
        {"date": [date(2024, 1, 4)] * 2, "open_interest": [100, 200], "right": ["C", "P"],
         "strike": [470.0, 465.0], "expiry": [date(2024, 1, 4)] * 2}
    ).to_parquet(oi)  # fmt: skip
    res = CliRunner().invoke(
        app,
        ["options", "gex", "--days", "3", "--seed", "2", "--edge", "1", "--oi", str(oi),
         "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["max_pain"] in (465.0, 470.0)


SYNTHETIC = ["options", "gex", "--seed", "2", "--edge", "1"]


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (
            ["--days", "1", "--at", "notatime"],
            ["--at 'notatime' is not a time", "YYYY-MM-DD HH:MM"],
        ),
        (["--days", "1", "--at", "now"], ["--at 'now' is not a time"]),
        (["--days", "1", "--at", "2024-01-02"], ["is not a time", "New York"]),
        (
            ["--days", "1", "--at", "2024-01-02 03:00"],
            ["--at 2024-01-02 03:00:00-05:00 is before the first bar", "09:30", "--start"],
        ),
        (
            ["--days", "2", "--at", "2024-01-05 10:00"],
            ["--at 2024-01-05 10:00:00-05:00 is after the last bar", "2024-01-03 15:59", "--end"],
        ),
        (  # a session's pre-open must not fall back to the previous session's last bar
            ["--days", "3", "--at", "2024-01-04 09:00"],
            ["no bar of 2024-01-04", "another session"],
        ),
        (  # a weekend inside the loaded span
            ["--start", "2024-01-02", "--end", "2024-01-09", "--at", "2024-01-06 12:00"],
            ["no bar of 2024-01-06"],
        ),
        (["--days", "1"], ["first session", "--oi"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("--") else None,
)
def test_gex_bad_at_is_a_configuration_error(extra: list[str], needles: list[str]) -> None:
    refused([*SYNTHETIC, *extra], "configuration error", *needles)


def test_gex_bad_oi_file_is_a_data_error(tmp_path: Path) -> None:
    columns = "['date', 'open_interest', 'right', 'strike', 'expiry']"
    gone = tmp_path / "nonexistent.parquet"
    refused([*SYNTHETIC, "--days", "1", "--oi", str(gone)], "data error", str(gone),
             "no such file", columns)  # fmt: skip
    wrong = tmp_path / "wrong.parquet"
    pd.DataFrame({"date": [date(2024, 1, 4)], "strike": [470.0], "oi": [5]}).to_parquet(wrong)
    refused([*SYNTHETIC, "--days", "1", "--oi", str(wrong)], "data error", str(wrong),
             "missing column(s) ['open_interest', 'right', 'expiry']", columns)  # fmt: skip
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 garbage")
    refused([*SYNTHETIC, "--days", "1", "--oi", str(garbage)], "data error", str(garbage),
             "not a readable Parquet file")  # fmt: skip
    bad = tmp_path / "bad.parquet"
    pd.DataFrame(
        {"date": ["2024-01-04", "someday"], "open_interest": [1, 2], "right": ["C", "P"],
         "strike": [470.0, 465.0], "expiry": ["2024-01-04"] * 2}
    ).to_parquet(bad)  # fmt: skip
    refused([*SYNTHETIC, "--days", "1", "--oi", str(bad)], "data error", str(bad),
             "row 1 has date='someday'")  # fmt: skip
    bad_right = tmp_path / "bad_right.parquet"
    pd.DataFrame(
        {"date": ["2024-01-04"], "open_interest": [1], "right": ["X"], "strike": [470.0],
         "expiry": ["2024-01-04"]}
    ).to_parquet(bad_right)  # fmt: skip
    refused([*SYNTHETIC, "--days", "1", "--oi", str(bad_right)], "data error",
             "row 0 has right='X'")  # fmt: skip


def test_gex_data_dir_named_but_empty_generates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(["options", "gex", "--days", "1", "--data-dir", str(empty)], "data error",
             f"the data directory {empty} holds no market data",
             "no data is generated for a directory you named")  # fmt: skip
    assert list(empty.iterdir()) == []

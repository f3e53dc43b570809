"""The backtest's speed and memory paths change no record: same bytes with and without them.

* ``plots=False`` (``zerodte backtest --no-plots``) skips only ``equity.png``;
* the feed's and the quote model's per-cycle columns are ``array('d')`` (8 bytes a float)
  where they were lists: a run on plain lists writes the same records, byte for byte;
* the boxed bar times are forgotten behind the replay: a run that forgets them almost at
  once writes the same records;
* the loop carries a quiet cycle (flat, idle, HOLD) in one step: a run that takes every
  cycle through open_cycle, decide and close_cycle writes the same records;
* a run computes only the features its parts say they read: a run with a gate that does
  not say (so every feature is computed) writes the same records;
* the feed and the modelled quote books share one boxing of the bar starts: a run with a
  boxing each writes the same records;
* a snapshot builds a symbol's bar when it is read: it reads as the dict of every bar.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from zerodte.engine import build, feed
from zerodte.errors import ConfigError
from zerodte.features import FeatureSet, get_feature_set
from zerodte.types import Decision, Observation, Veto, features_read

from .helpers import Market, make_market, make_settings

RECORDS = ("trades.parquet", "equity.parquet", "decisions.parquet", "summary.json")


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(3, seed=2)


def _run(market: Market, tmp_path: Path, name: str, **kw: object) -> Path:
    from zerodte.engine.backtest import run_backtest

    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    out = tmp_path / name
    res = run_backtest(s, market, write=True, record=False, run_dir=out, n_boot=200, **kw)  # type: ignore[arg-type]
    assert len(res.trades) > 5, "too few trades to compare"
    return out


def _same_records(a: Path, b: Path) -> None:
    for name in RECORDS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_no_plots_writes_the_same_records(market: Market, tmp_path: Path) -> None:
    a = _run(market, tmp_path, "plots")
    b = _run(market, tmp_path, "no-plots", plots=False)
    _same_records(a, b)
    assert (a / "equity.png").exists() and not (b / "equity.png").exists()
    assert (b / "ANALYSIS.md").read_bytes() == (a / "ANALYSIS.md").read_bytes()


def test_array_columns_give_the_records_of_lists(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _run(market, tmp_path, "arrays")
    assert type(feed.floats(market.frame["spy_close"].to_numpy())).__name__ == "array"
    with monkeypatch.context() as m:
        m.setattr(feed, "floats", lambda values: values.tolist())
        m.setattr(build, "floats", lambda values: values.tolist())
        plain = _run(market, tmp_path, "lists")
    _same_records(fast, plain)


def test_the_market_frame_is_released_before_the_run_is_finished(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that keeps no reference to the market (the CLI) gets its frame freed
    before the records are framed and written: the peak of a long run is not the frame
    plus the records."""
    import gc
    import weakref
    from dataclasses import replace

    from zerodte.engine import backtest as bt

    refs: list[weakref.ref[object]] = []
    alive: list[bool] = []
    finish = bt.finish_run

    def checking(*args: object, **kw: object) -> object:
        gc.collect()
        alive.append(refs[0]() is not None)
        return finish(*args, **kw)  # type: ignore[arg-type]

    def fresh() -> Market:
        copy = replace(market, frame=market.frame.copy())
        refs.append(weakref.ref(copy.frame))
        return copy

    monkeypatch.setattr(bt, "finish_run", checking)
    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    res = bt.run_backtest(s, fresh(), write=True, record=False, run_dir=tmp_path / "r", n_boot=50)  # type: ignore[arg-type]
    assert alive == [False]
    assert len(res.decisions) == len(market.frame)  # the records are all there


def test_parquet_records_dictionary_encode_text_only(tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from zerodte.engine.rundir import write_parquet

    frame = pd.DataFrame(
        {"x": [0.5, float("nan"), 1.5], "n": [1, 2, 3], "why": ["a", "b", "a"]}
    ).astype({"why": "string[pyarrow]"})
    path = write_parquet(tmp_path / "t.parquet", frame)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(3)}
    assert any("DICTIONARY" in e for e in encodings["why"])
    assert not any("DICTIONARY" in e for e in encodings["x"] + encodings["n"])
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_recorded_vetoes_share_one_text_per_distinct_set(market: Market) -> None:
    from zerodte.engine.recorder import Recorder

    frame = market.frame
    rec = Recorder(frame.index, list(frame["session"]))  # type: ignore[arg-type]
    cap = [("max_trades_per_day", "10 entries today >= 10")]
    rec.record_vetoes(3, list(cap))
    rec.record_vetoes(9, list(cap))
    rec.record_vetoes(11, [("cooldown", "1.0 min"), *cap])
    assert rec.vetoes[3] == "max_trades_per_day:10 entries today >= 10"
    assert rec.vetoes[3] is rec.vetoes[9] and rec.veto_pairs[3] is rec.veto_pairs[9]
    assert rec.vetoes[11] == "cooldown:1.0 min; max_trades_per_day:10 entries today >= 10"
    assert rec.veto_pairs[11] == (("cooldown", "1.0 min"), *cap)
    assert rec.veto_counts == {"max_trades_per_day": 3, "cooldown": 1}


def test_market_frame_has_one_date_object_per_session(market: Market) -> None:
    sessions = market.frame["session"]
    assert len({id(d) for d in sessions}) == sessions.nunique() == 3
    assert all(d == t.date() for d, t in zip(sessions, market.frame.index, strict=True))


def test_forgetting_boxed_times_changes_no_record(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _run(market, tmp_path, "kept")
    with monkeypatch.context() as m:
        m.setattr(feed, "_BOXED_KEPT", 4)  # forget almost at once: every time boxed again
        forgetful = _run(market, tmp_path, "forgetful")
    _same_records(kept, forgetful)


def test_carrying_quiet_cycles_changes_no_record(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zerodte.engine.engine import Engine

    asked: list[bool] = []
    carries = Engine._carries_idle_cycles

    def noted(self: Engine, source: object) -> bool:
        asked.append(carries(self, source))  # type: ignore[arg-type]
        return asked[-1]

    with monkeypatch.context() as m:
        m.setattr(Engine, "_carries_idle_cycles", noted)
        carried = _run(market, tmp_path, "carried")
        _run(market, tmp_path, "streamed", path="streaming")
    # a streaming controller observes every bar: none of its cycles is carried
    assert asked == [True, False]
    with monkeypatch.context() as m:
        m.setattr(Engine, "_carries_idle_cycles", lambda self, source: False)
        stepped = _run(market, tmp_path, "stepped")
    _same_records(carried, stepped)
    assert (carried / "ANALYSIS.md").read_bytes() == (stepped / "ANALYSIS.md").read_bytes()


def test_sharing_the_boxed_bar_starts_changes_no_record(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zerodte.engine import backtest

    shared = _run(market, tmp_path, "shared")
    made = feed.HistoricalFeed

    def unshared(frame: pd.DataFrame, quote_books: object, *args: object, **kw: object) -> object:
        kw.pop("starts", None)  # the quote books keep their own boxing
        return made(frame, quote_books, *args, **kw)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(backtest, "HistoricalFeed", unshared)
        apart = _run(market, tmp_path, "apart")
    _same_records(shared, apart)


def test_shared_starts_must_be_the_frames_own(market: Market) -> None:
    from zerodte.errors import DataError

    other = feed.BoxedTimes(pd.DatetimeIndex(market.frame.index[1:]))
    with pytest.raises(DataError, match="not the market frame's index"):
        feed.HistoricalFeed(market.frame, lambda i: None, starts=other)  # type: ignore[arg-type,return-value]


def test_a_snapshots_bars_read_as_the_dict_of_every_bar(market: Market) -> None:
    from zerodte.types import Bar

    replay = feed.HistoricalFeed(market.frame, lambda i: None)  # type: ignore[arg-type,return-value]
    row = market.frame.iloc[7]
    bars = replay.snapshot(7).bars
    assert list(bars) == list(feed.FEED_SYMBOLS) and len(bars) == 3
    assert "SPY" in bars and "IWM" not in bars and bars.get("IWM") is None
    with pytest.raises(KeyError):
        bars["IWM"]
    t = market.frame.index[7]
    for sym in feed.FEED_SYMBOLS:
        want = Bar(t, *(float(row[f"{sym.lower()}_{c}"]) for c in feed._BAR_FIELDS))
        assert bars[sym] == want and bars[sym] is bars[sym]
    assert dict(bars) == {sym: bars[sym] for sym in feed.FEED_SYMBOLS}


def test_boxed_times_keep_only_what_is_ahead_and_box_the_same_values() -> None:
    import numpy as np
    import pandas as pd

    n = 3 * feed._BOXED_KEPT
    times = pd.date_range("2024-03-01 09:30", periods=n, freq="min", tz="America/New_York")
    boxed = feed.BoxedTimes(times)
    boxed.prime(np.arange(10, 20))
    for i in range(len(times)):
        assert boxed[i] == times[i] and boxed[i].unit == times.unit
        assert len(boxed._boxed) <= feed._BOXED_KEPT + 10
    assert boxed[3] == times[3]  # behind the replay: boxed again, the same value
    seconds = pd.DatetimeIndex(times.as_unit("s"))
    assert feed.BoxedTimes(seconds)[5] == seconds[5] and feed.BoxedTimes(seconds)[5].unit == "s"


def test_reason_pieces_give_back_their_text() -> None:
    import pandas as pd
    import pyarrow as pa

    from zerodte.engine.recorder import ReasonPiece

    arrow = pa.chunked_array([["hold: flat", "call: up 0.2%", None], ["hold: flat"]])
    reasons = pd.array(arrow, dtype=pd.StringDtype("pyarrow"))
    piece = ReasonPiece(reasons)
    assert len(piece) == 4
    assert [piece.text(j) for j in range(4)] == ["hold: flat", "call: up 0.2%", "", "hold: flat"]
    stored = reasons.__arrow_array__()  # type: ignore[attr-defined]
    assert pa.concat_arrays(piece.chunks()).equals(pa.concat_arrays(stored.chunks))
    back = piece.array()
    assert back.dtype == reasons.dtype and back.equals(reasons)


def test_gate_codes_read_as_the_records_values() -> None:
    import numpy as np

    from zerodte.engine.recorder import GATE_ALLOWS, GATE_NOT_ASKED, GATE_VETOES, gate_values

    codes = np.array([GATE_NOT_ASKED, GATE_ALLOWS, GATE_VETOES], dtype=np.int8)
    values = gate_values(codes)
    assert values.dtype == np.float64
    assert np.isnan(values[0]) and values[1:].tolist() == [1.0, 0.0]


class _QuietGate:
    """Lets every entry in and does not say which features it reads."""

    name = "quiet"

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        return None


class _SecretReader:
    """Says it reads no feature, and reads one."""

    name = "secret"
    feature_inputs = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        observation.features.get("rsi_14", 0.0)
        return None


def test_computing_only_the_features_read_changes_no_record(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zerodte.engine import sources
    from zerodte.policy.gates import build_gates

    computed: list[list[str]] = []

    class Chunks(sources.FeatureChunks):
        def __init__(self, frame: pd.DataFrame, feature_set: FeatureSet) -> None:
            super().__init__(frame, feature_set)
            computed.append(self.columns)

    monkeypatch.setattr(sources, "FeatureChunks", Chunks)
    lean = _run(market, tmp_path, "lean")
    gates = [*build_gates(make_settings(tmp_path, momentum_threshold_pct=0.05)), _QuietGate()]
    whole = _run(market, tmp_path, "whole", gates=gates)
    _same_records(lean, whole)
    # momentum reads its 5-minute return; every trade row carries three entry features
    assert sorted(computed[0]) == ["momentum_15m", "momentum_5m", "volume_spike"]
    assert computed[1] == list(get_feature_set("default").resolve(market.frame.columns).columns)


def test_reading_a_feature_not_computed_is_an_error(market: Market, tmp_path: Path) -> None:
    """A part that reads a feature it did not declare gets a ConfigError naming it, never
    the default of ``get`` (a missing value silently standing in for a number)."""
    from zerodte.engine.backtest import run_backtest
    from zerodte.policy.gates import build_gates

    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    gates = [*build_gates(s), _SecretReader()]
    with pytest.raises(ConfigError, match="'rsi_14' is not computed in this run"):
        run_backtest(s, market, write=False, record=False, n_boot=10, gates=gates)


def test_features_read_is_all_when_a_part_does_not_say() -> None:
    said = SimpleNamespace(feature_inputs=("a", "b"))
    empty = SimpleNamespace(feature_inputs=())
    assert features_read([said, None, empty, SimpleNamespace(feature_inputs=("b", "c"))]) == {
        "a",
        "b",
        "c",
    }
    assert features_read([empty]) == frozenset()
    assert features_read([said, SimpleNamespace()]) is None

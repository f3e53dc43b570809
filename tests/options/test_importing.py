"""Importing real option quotes and open interest: formats, provenance, refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.option_store import OptionQuoteStore
from zerodte.options.importing import read_option_file, read_quotes, sha256_of

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "options"

CSV = """timestamp,root,right,strike,expiry,bid,ask
2021-01-04 10:00:00-05:00,SPXW,C,3700,2021-01-04,4.80,5.40
2021-01-04 10:01:00-05:00,SPXW,C,3700,2021-01-04,4.70,5.30
2021-01-04 10:00:00-05:00,SPXW,P,3700,2021-01-04,22.0,24.0
"""


def _write(tmp: Path, text: str, name: str = "chain.csv") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_generic_csv_is_canonical_and_open_is_previous_close(tmp_path: Path) -> None:
    got = read_quotes(_write(tmp_path, CSV)).frame
    assert list(got["right"]) == ["C", "P", "C"]  # by minute, then contract
    assert got["underlying"].unique().tolist() == ["SPX"]
    assert got["style"].unique().tolist() == ["european"]
    # the 10:01 call opens at the 10:00 call's last quote; no earlier minute for the others
    call = got[got["right"] == "C"].reset_index(drop=True)
    assert (call.loc[1, "bid_open"], call.loc[1, "ask_open"]) == (4.80, 5.40)
    assert call["bid_open"].isna().iloc[0]
    assert got["timestamp"].dt.tz.key == "America/New_York"


@pytest.mark.parametrize(
    ("row", "field", "what"),
    [
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,5.50,5.40", "bid_close", "crossed"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,-0.1,5.40", "bid", "negative"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3702,2021-01-04,5.0,5.40", "strike", "grid"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,,2021-01-04,5.0,5.40", "strike", "grid"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-01,5.0,5.40", "expiry", "before"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,soon,5.0,5.40", "expiry", "not a date"),
        ("2021-01-04 10:02:00-05:00,SPXW,X,3700,2021-01-04,5.0,5.40", "right", "C, P"),
        ("2021-01-04 10:02:00-05:00,QQQX,C,3700,2021-01-04,5.0,5.40", "root", "contract rules"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,,", "bid", "neither"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,abc,5.4", "bid", "not a number"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,4.9,inf", "ask", "not a finite"),
        ("2021-01-04 10:02:00-05:00,SPXW,C,inf,2021-01-04,5.0,5.40", "strike", "grid"),
        ("not a time,SPXW,C,3700,2021-01-04,5.0,5.40", "timestamp", "not a time"),
        ("2021-01-04 10:00:00-05:00,SPXW,C,3700,2021-01-04,4.80,5.40", "timestamp", "duplicated"),
    ],
)
def test_bad_rows_are_refused_with_row_and_field_and_store_unchanged(
    tmp_path: Path, row: str, field: str, what: str
) -> None:
    store = OptionQuoteStore(tmp_path / "store")
    good = read_quotes(_write(tmp_path, CSV, "good.csv"))
    store.write({"quotes": good.frame}, [good.provenance])
    before = sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file())
    path = _write(tmp_path, CSV + row + "\n")
    with pytest.raises(DataError) as err:
        bad = read_quotes(path)
        store.write({"quotes": bad.frame}, [bad.provenance])
    text = str(err.value)
    assert "row 3 (line 5)" in text and f"field {field!r}" in text and what in text
    assert str(path) in text
    after = sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file())
    assert after == before
    assert len(store.quotes()) == 3


def test_crossed_rows_can_be_dropped_explicitly(tmp_path: Path) -> None:
    path = _write(tmp_path, CSV + "2021-01-04 10:02:00-05:00,SPXW,C,3700,2021-01-04,5.5,5.4\n")
    got = read_quotes(path, drop_crossed=True)
    assert len(got.frame) == 3 and got.notes == ["dropped 1 crossed quote row(s) (bid > ask)"]


def test_missing_column_names_the_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing column\(s\) \['ask'\].*docs/real-data.md"):
        read_quotes(_write(tmp_path, "timestamp,root,right,strike,expiry,bid\n"))


def test_naive_stamps_need_a_timezone(tmp_path: Path) -> None:
    text = CSV.replace("-05:00", "")
    with pytest.raises(DataError, match="--tz"):
        read_quotes(_write(tmp_path, text))
    assert len(read_quotes(_write(tmp_path, text), tz="America/New_York").frame) == 3


def test_synthetic_store_refuses_real_quotes(tmp_path: Path) -> None:
    from zerodte.market.store import ParquetStore
    from zerodte.market.synthetic import SyntheticConfig, simulate_market

    market = simulate_market(SyntheticConfig(seed=1, days=1))
    ParquetStore(tmp_path).write_many(market.bars, source="synthetic:seed=1:edge=0")
    got = read_quotes(_write(tmp_path, CSV))
    with pytest.raises(DataError, match="synthetic and real data never share a store"):
        OptionQuoteStore(tmp_path).write({"quotes": got.frame}, [got.provenance])
    assert not OptionQuoteStore(tmp_path).has_quotes()


def test_open_interest_csv_and_bad_values(tmp_path: Path) -> None:
    text = "date,root,right,strike,expiry,open_interest\n2021-01-04,SPXW,C,3700,2021-01-04,120\n"
    got = read_option_file(_write(tmp_path, text, "oi.csv"))
    assert got.kind == "open_interest" and got.frame["open_interest"].tolist() == [120]
    for value in ("1.5", "inf", "-1", "x"):
        with pytest.raises(DataError, match=r"row 1 \(line 3\), field 'open_interest'"):
            read_option_file(
                _write(tmp_path, text + f"2021-01-04,SPXW,P,3700,2021-01-04,{value}\n", "oi.csv")
            )


def test_real_lean_slice_imports_with_provenance(tmp_path: Path) -> None:
    quotes = REAL / "lean_option_quotes_1min.parquet"
    if not quotes.is_file():
        pytest.skip(f"../shared/data/real not present: {quotes.resolve()} does not exist")
    day = pd.read_parquet(quotes)
    part = day[day["timestamp"].dt.date == pd.Timestamp("2021-01-06").date()].head(400)
    path = tmp_path / "lean.parquet"
    part.to_parquet(path)
    got = read_option_file(path, drop_crossed=True)
    oi = read_option_file(REAL / "lean_option_open_interest.parquet")
    store = OptionQuoteStore(tmp_path / "s")
    rows = store.write(
        {"quotes": got.frame, "open_interest": oi.frame}, [got.provenance, oi.provenance]
    )
    assert rows == {"quotes": len(got.frame), "open_interest": 22}
    prov = {p["kind"]: p for p in store.provenance()}
    assert prov["quotes"]["sha256"] == sha256_of(path) and prov["quotes"]["format"] == "lean"
    assert prov["quotes"]["underlyings"] == ["SPX"] and prov["quotes"]["roots"] == ["SPXW"]
    assert len(store.open_interest(("SPX",))) == 6  # roots: SPX monthly, SPXW weekly
    # a second identical import is idempotent
    store.write({"quotes": got.frame}, [got.provenance])
    assert len(store.quotes()) == len(got.frame) and len(store.provenance()) == 2

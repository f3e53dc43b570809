"""``zerodte data import-options`` and ``data options-info`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from zerodte.cli.main import app

from .cli_helpers import refused

runner = CliRunner()
CSV = """timestamp,root,right,strike,expiry,bid,ask
2021-01-04 10:00:00-05:00,SPXW,C,3700,2021-01-04,4.80,5.40
2021-01-04 10:00:00-05:00,SPXW,P,3700,2021-01-04,22.0,24.0
"""


def test_import_then_info_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(CSV, encoding="utf-8")
    store = tmp_path / "store"
    res = runner.invoke(
        app, ["data", "import-options", str(good), "--data-dir", str(store), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == {"quotes": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "2021-01-04 10:01:00-05:00,SPXW,C,3700,2021-01-04,6.0,5.4\n", "utf-8")
    res = runner.invoke(
        app, ["data", "import-options", str(good), str(bad), "--data-dir", str(store)]
    )
    assert res.exit_code == 2
    assert "row 2 (line 4), field 'bid_close': bid above ask" in res.output
    info = runner.invoke(app, ["data", "options-info", "--data-dir", str(store), "--json"])
    files = json.loads(info.stdout)["files"]
    assert [f["source"] for f in files] == ["file:good.csv"] and files[0]["rows"] == 2


def test_unreadable_option_files_are_data_errors_that_store_nothing(tmp_path: Path) -> None:
    """An empty CSV, a file that is not UTF-8, a file that is not Parquet and a directory
    each stop the import with a message naming the file, and store nothing."""
    store = tmp_path / "store"
    cases = {
        "empty.csv": (b"", "not a readable CSV file"),
        "utf16.csv": ("timestamp,root\n".encode("utf-16"), "not a readable CSV file"),
        "fake.parquet": (b"not parquet", "not a readable Parquet file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        refused(["data", "import-options", str(path), "--data-dir", str(store)], "data error",
                str(path), message, "UTF-8 CSV or a Parquet file")  # fmt: skip
    folder = tmp_path / "quotes"
    folder.mkdir()
    refused(["data", "import-options", str(folder), "--data-dir", str(store)], "data error",
            f"{folder}: is a directory; give the quote files themselves")  # fmt: skip
    assert not store.exists()

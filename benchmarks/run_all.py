"""Run every benchmark and write benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run_all.py            # all benchmarks
    .venv/bin/python benchmarks/run_all.py market     # only bench_market.py

Each ``bench_<area>.py`` writes ``results/<area>.json``: a dict with ``machine`` and
``results``, a list of ``{"name", "value", "unit", "target", "ok"}`` rows (``target`` is a
human-readable bound such as ``"<= 5 s"``, ``ok`` whether it was met). This script only
collects them into one Markdown table; it never edits a figure. A measurement that does
not fit one row per figure (alternating whole-process pairs, profiles) is written up by
hand in ``notes/<area>.md`` and appended under that area's table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
NOTES = HERE / "notes"


def _run(script: Path) -> None:
    print(f"== {script.name}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(script)], check=True, cwd=HERE.parent)
    print(f"   finished in {time.perf_counter() - t0:.1f} s", flush=True)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_markdown() -> Path:
    """Assemble every ``results/*.json`` into ``RESULTS.md``."""
    lines = [
        "# Benchmark results",
        "",
        "Produced by `.venv/bin/python benchmarks/run_all.py` (see each `bench_*.py`).",
        "Figures are single runs on the machine described per section; targets come from",
        "the issues. A target that was missed is shown as missed, not hidden.",
        "",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        if "results" not in data:
            continue  # study tables (controller comparisons): rendered in docs/controllers.md
        machine = data.get("machine", {})
        lines += [f"## {path.stem}", ""]
        if machine:
            desc = ", ".join(f"{k}: {v}" for k, v in sorted(machine.items()))
            lines += [f"Machine: {desc}", ""]
        lines += ["| benchmark | value | unit | target | met |", "| --- | --- | --- | --- | --- |"]
        for row in data.get("results", []):
            met = {True: "yes", False: "**no**", None: "n/a"}.get(row.get("ok"), "n/a")
            lines.append(
                f"| {row['name']} | {_fmt(row['value'])} | {row.get('unit', '')} | "
                f"{row.get('target') or ''} | {met} |"
            )
        notes = data.get("notes")
        if notes:
            lines += ["", str(notes)]
        lines.append("")
        written = NOTES / f"{path.stem}.md"
        if written.exists():
            lines += [written.read_text().rstrip(), ""]
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(lines))
    return out


def main(argv: list[str]) -> int:
    """Run the selected benchmarks (all by default) and write RESULTS.md."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    for script in scripts:
        _run(script)
    print(f"wrote {write_markdown()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

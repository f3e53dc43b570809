"""Describe the machine a benchmark ran on, and write a results file."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """CPU model, core count, memory, Python version and the load when the figures were written."""
    cpu = platform.processor() or "unknown"
    # Not Linux: keep platform.processor().
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        mem_gb = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        # other work on the machine slows every timing: the 1-minute load when written
        "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def row(name: str, value: float, unit: str, target: str | None, ok: bool | None) -> dict[str, Any]:
    """One benchmark figure."""
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def write(area: str, results: list[dict[str, Any]], notes: str = "") -> Path:
    """Write ``results/<area>.json`` and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{area}.json"
    payload = {"machine": machine(), "results": results, "notes": notes}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path

"""`analyze FILE --json` and `import FILE` + `compare last --json` (phase "whole") give the same values:
one reader, one gap rule, one artifact policy and one indices-of-a-stretch function behind both
(issue 11). Real CLI in subprocesses, real store; the recordings come from ../shared/data."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "biofeedback.cli"]
SHARED_KEYS = ("mean_hr_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence",
               "artifacts_pct")


def _ok(*args: str) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("BIOFEEDBACK_HOME", None)
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.shared_data
@pytest.mark.parametrize("rel, options", [
    ("real-strap/polar_h10_pvc_rr.csv", ()),
    ("real-strap/polar_h10_breathing_ibi.csv", ("--column", "2")),
    ("one-hour/pyhrv_series_1_rr_ms.txt", ()),
])
def test_analyze_equals_import_then_compare(shared_data: Path, tmp_path: Path, rel: str, options: tuple[str, ...]) -> None:
    path = str(shared_data / rel)
    analyzed = json.loads(_ok("analyze", path, *options, "--json"))
    _ok("import", path, *options, "--home", str(tmp_path))
    compared = json.loads(_ok("compare", "last", "--json", "--home", str(tmp_path)))
    whole = compared["phases"]["whole"]
    for key in SHARED_KEYS:
        a, c = analyzed[key], whole["indices"][key]["value"]
        if c is None:  # compare refuses an index the phase is too short for; analyze still gives it
            continue
        assert a is not None and math.isclose(a, c, rel_tol=1e-12, abs_tol=1e-12), (key, a, c)
    assert analyzed["quality"] == whole["quality"]
    if rel.endswith("pvc_rr.csv"):  # the normal-to-normal pairs, not an interpolated bigeminy
        assert 15.0 < analyzed["rmssd_ms"] < 20.0
        assert analyzed["quality"]["verdict"] == "poor"

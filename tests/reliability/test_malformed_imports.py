"""Malformed dates, times and digits in imported files: one line naming file, line and problem,
exit 2, the store unchanged (these ended in "internal error" before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from biofeedback.cli.main import main

POLAR = "Phone timestamp;RR-interval [ms]\n{stamp};800\n{stamp};810\n"
KUBIOS = """HRV ANALYSIS RESULTS - 01-Mar-2026 07:40:02
Kubios HRV Standard
Measurement date: {date}
RR INTERVAL DATA
Time,RR interval
(s),(s)
{t1},0.800
{t2},0.810
"""

CASES = {
    "polar-9999": ("polar_RR.txt", POLAR.format(stamp="9999-12-31T23:59:59.000"), 2, "out of range"),
    "polar-0001": ("polar_RR.txt", POLAR.format(stamp="0001-01-01T00:00:00.000"), 2, "out of range"),
    "hrv-logger-ms": ("x_RR.csv", "timestamp,rr,since start\n253402300799000,800,0\n253402300799800,810,800\n",
                      2, "out of range"),
    "kubios-date": ("k.txt", KUBIOS.format(date="31/12/9999 23:59:59", t1="0.8", t2="1.61"), 3, "out of range"),
    "kubios-time-big": ("k.txt", KUBIOS.format(date="01/03/2026 08:00:00", t1="0.8", t2="1e15"), 8, "out of range"),
    "kubios-time-neg": ("k.txt", KUBIOS.format(date="01/03/2026 08:00:00", t1="-1e12", t2="0.8"), 7, "out of range"),
    "elite-name": ("9999-12-31 23-59-59.txt", "800,810,820\n", None, "out of range"),
    "underscore": ("rr.txt", "800\n8_00\n", 2, "not a number"),
    "arabic-indic": ("rr.txt", "800\n\u0668\u0660\u0660\n", 2, "not a number"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_import_is_one_line_exit_2_and_stores_nothing(tmp_path: Path, capsys, case):
    name, text, line, problem = CASES[case]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    home = tmp_path / "home"
    assert main(["import", str(path), "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert where in err and problem in err, err
    assert main(["sessions", "--json", "--home", str(home)]) == 0
    assert capsys.readouterr().out.strip() in ("[]", "")

"""Plain-text and CSV-column RR readers: units never guessed silently, bad lines named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import InputError
from sessions.importers.base import MAX_RR_MS, MIN_RR_MS, RRRecording
from sessions.importers.csv_column import read_csv_column
from sessions.importers.plain_text import read_plain_text


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_plain_ms_and_seconds_give_the_same_intervals(tmp_path: Path) -> None:
    ms = read_plain_text(_write(tmp_path, "ms.txt", "800\n812.5\n\n# comment\n790\n"))
    s = read_plain_text(_write(tmp_path, "s.txt", "0.8\n0.8125\n0.79\n"))
    assert isinstance(ms, RRRecording) and ms.format == "plain" and ms.t_s is None
    assert ms.rr_ms.tolist() == [800.0, 812.5, 790.0]
    assert np.allclose(s.rr_ms, ms.rr_ms, rtol=0, atol=1e-9)
    assert "units inferred as milliseconds" in ms.notes[0]
    assert "units inferred as seconds" in s.notes[0]
    assert read_plain_text(_write(tmp_path, "e.txt", "800\n"), units="ms").notes == ()
    assert np.allclose(ms.beat_times_s(), [0.8, 1.6125, 2.4025])


def test_a_short_artifact_interval_is_kept_for_the_artifact_stage(tmp_path: Path) -> None:
    # One 180 ms detection artifact (as in a 21 h PhysioNet Holter file) must not refuse the file.
    rec = read_plain_text(_write(tmp_path, "holter.txt", "800\n810\n180\n620\n805\n"))
    assert list(rec.rr_ms) == [800.0, 810.0, 180.0, 620.0, 805.0]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", None, "empty file"),
        ("\n\n# only a comment\n", None, "empty file"),
        ("800\n810\nabc\n", 3, "not a number: 'abc'"),
        ("800\n810 820\n", 2, "not a number"),
        ("800\n-810\n", 2, "negative interval"),
        ("800\n0\n", 2, "zero interval"),
        ("800\n60\n", 2, "impossible RR interval 60 ms"),
        ("800\n1e12\n", 2, "absurd RR interval"),
        ("800\nnan\n", 2, "not a finite number"),
        ("800\n810\n0.8\n820\n", 3, "mixed units: 0.8 looks like seconds"),
        ("0.8\n0.81\n800\n", 3, "mixed units: 800 looks like milliseconds"),
    ],
)
def test_plain_bad_input_names_file_and_line(tmp_path: Path, text: str, line: int | None, fragment: str) -> None:
    p = _write(tmp_path, "bad.txt", text)
    with pytest.raises(InputError) as info:
        read_plain_text(p)
    err = info.value
    assert err.path == str(p) and err.line == line
    assert fragment in err.problem
    assert "\n" not in str(err)
    assert str(err).startswith(f"{p}:{line}: " if line else f"{p}: ")


@pytest.mark.parametrize(
    "body",
    [
        "800\n812\n790\n4000\n805\n",  # digits only (the whole-number fast path), a gap
        " 0.8\t\n0.8125\r\n.79\n8e-1\n+0.81\n\n\n",  # decimals, spaces, CRLF, trailing blank lines
        "800\n-810\n",
        "800\n0\n",
        "800\n60\n",
        "800\n1e12\n",
        "800\n1e999\n",
        "800\n810\n0.8\n820\n",
        "0.8\n0.81\n800\n",
        "1\n800\n810\n",
        "800\n\u00a0810\n",  # a Unicode space: the line-by-line loop
        "800\n\u0668\u0660\u0660\n",  # Arabic-Indic digits: refused by both
    ],
)
def test_whole_file_fast_path_equals_the_line_by_line_reader(tmp_path: Path, body: str) -> None:
    # A leading comment line sends the same numbers through the line-by-line loop: the values, the
    # notes and every error (one line later) must be the same as the fast path's.
    def outcome(text: str, shift: int) -> tuple:
        try:
            rec = read_plain_text(_write(tmp_path, f"f{shift}.txt", text))
        except InputError as exc:
            return ("error", exc.problem, None if exc.line is None else exc.line - shift)
        notes = tuple(n.replace(f"line {4 + shift}", "line 4") for n in rec.notes)
        return (rec.rr_ms.tolist(), None if rec.t_s is None else rec.t_s.tolist(), notes)

    assert outcome(body, 0) == outcome("# first line a comment\n" + body, 1)


def test_binary_and_undecodable_bytes(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="binary data") as info:
        read_plain_text(_write(tmp_path, "b.txt", b"800\n810\n\x00\x01\x02"))
    assert info.value.line == 3
    with pytest.raises(InputError, match="undecodable byte 0xff") as info:
        read_plain_text(_write(tmp_path, "u.txt", b"800\n\xff\xfe810\n"))
    assert info.value.line == 2
    with pytest.raises(InputError, match="no such file"):
        read_plain_text(tmp_path / "missing.txt")


def test_explicit_units_are_obeyed_and_checked(tmp_path: Path) -> None:
    p = _write(tmp_path, "s.txt", "0.8\n0.9\n")
    assert read_plain_text(p, units="s").rr_ms.tolist() == [800.0, 900.0]
    with pytest.raises(InputError, match="--units ms does not fit these values: their median 0.85 is in seconds"):
        read_plain_text(p, units="ms")
    q = _write(tmp_path, "ms.txt", "800\n50\n900\n")  # the unit fits; one value is impossible
    with pytest.raises(InputError, match="impossible RR interval 50 ms") as info:
        read_plain_text(q, units="ms")
    assert info.value.line == 2
    assert MIN_RR_MS == 100.0


def test_long_intervals_become_gaps_not_beats(tmp_path: Path) -> None:
    p = _write(tmp_path, "g.txt", "start\n0.8\n0.8\n4.5\n0.8\n")
    rec = read_plain_text(p, skip_lines=1)
    assert rec.rr_ms.tolist() == [800.0, 800.0, 800.0]
    assert rec.t_s is not None and np.allclose(rec.t_s, [0.8, 1.6, 6.9])  # time kept
    assert any("longer than 3000 ms treated as gaps" in n and "line 4" in n for n in rec.notes)
    assert any("skipped the first 1 line" in n for n in rec.notes)
    assert MAX_RR_MS == 3000.0


def test_csv_column_by_name_number_and_delimiters(tmp_path: Path) -> None:
    p = _write(tmp_path, "a.csv", "time_ns,hr,RR\n1,75,800\n2,74,\n3,76,790\n")
    rec = read_csv_column(p, "rr", units="ms")  # case-insensitive match
    assert rec.format == "csv" and rec.rr_ms.tolist() == [800.0, 790.0]
    assert any("1 empty cell" in n for n in rec.notes)
    semi = _write(tmp_path, "b.csv", "t;ibi\n0.8;0.8\n1.6;0.81\n")
    assert read_csv_column(semi, "ibi").rr_ms.tolist() == [800.0, 810.0]
    headerless = _write(tmp_path, "c.csv", "0.8,800\n1.6,810\n")
    assert read_csv_column(headerless, "2").rr_ms.tolist() == [800.0, 810.0]


@pytest.mark.parametrize(
    ("text", "column", "line", "fragment"),
    [
        ("a,b\n1,2\n", "rr", 1, "no column 'rr' (columns: 'a', 'b')"),
        ("rr\n800\nxyz\n", "rr", 3, "not a number: 'xyz'"),
        ("t,rr\n1,800\n2\n", "rr", 3, "row has 1 fields"),
        ("rr\n", "rr", None, "empty file"),
        ("", "rr", None, "empty file"),
        ("t,rr\n1,800\n2,-3\n", "rr", 3, "negative interval"),
        ("t,rr\n1,800\n2,810\n3,0.81\n", "rr", 4, "mixed units"),
    ],
)
def test_csv_bad_input(tmp_path: Path, text: str, column: str, line: int | None, fragment: str) -> None:
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as info:
        read_csv_column(p, column)
    assert info.value.line == line and info.value.path == str(p)
    assert fragment in info.value.problem


@pytest.mark.shared_data
def test_reads_the_reference_recordings(shared_data: Path) -> None:
    pvc = read_csv_column(shared_data / "real-strap" / "polar_h10_pvc_rr.csv", "rr")
    assert pvc.rr_ms.size == 798 and pvc.rr_ms.min() == 375.0
    ibi = read_csv_column(shared_data / "real-strap" / "polar_h10_breathing_ibi.csv", "2")
    assert ibi.rr_ms.size == 620
    hour = read_plain_text(shared_data / "one-hour" / "pyhrv_series_1_rr_ms.txt")
    assert hour.rr_ms.size == 4684
    holter = read_plain_text(shared_data / "holter" / "nsr2db_nsr001_rr_secs.txt", skip_lines=1)
    assert holter.rr_ms.size + 3 == 106459  # three pauses > 3 s became gaps
    # A 21.5 h Holter file with detection artifacts (RR down to 180 ms) loads whole; the artifact
    # stage labels those beats.
    noisy = read_plain_text(shared_data / "holter" / "rr_healthy_subjects_003_ms.txt")
    assert noisy.rr_ms.size > 108_000 and noisy.rr_ms.min() == 180.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=16), min_size=1, max_size=40))
def test_whole_numbers_read_without_a_loop_equal_int(lines: list[str]) -> None:
    # the vectorised reading of digit-only lines: float(int(line)) exactly, or None beyond 15 digits
    from sessions.importers.plain_text import _whole_numbers

    got = _whole_numbers("\n".join(lines), len(lines))
    if max(map(len, lines)) > 15:
        assert got is None
    else:
        assert got is not None and got.tolist() == [float(int(x)) for x in lines]


@pytest.mark.parametrize("text", ["8 1", "81\n\n2", "\u0663", "1e3", "-5", "+5", "12\r", "1\x0b2", "12\n"])
def test_whole_numbers_leave_anything_else_to_the_line_reader(text: str) -> None:
    from sessions.importers.plain_text import _whole_numbers

    assert _whole_numbers(text, text.count("\n") + 1) is None

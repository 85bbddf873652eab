"""Each RR-file format on hand-written real-layout fixtures, broken files, and fuzzing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.errors import InputError
from sessions.importers import FORMATS, detect_format, read_recording
from sessions.importers.base import RRRecording

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED_MS = [float(x) for x in (FIXTURES / "rr_values.txt").read_text().split()]


@pytest.mark.parametrize(
    ("name", "detected"),
    [
        ("kubios_series_export.txt", "kubios"),
        ("kubios_report.txt", "kubios"),
        ("polar_sensor_logger_RR.txt", "polar-sensor-logger"),
        ("hrv_logger_RR.csv", "hrv-logger"),
        ("elite_hrv_commas.txt", "elite-hrv"),
        ("named_column.csv", "csv"),
        ("plain_ms.txt", "plain"),
        ("plain_s.txt", "plain"),
        ("2026-03-01 07-15-42.txt", "plain"),  # Elite HRV one-a-line is the same numbers as plain ms
    ],
)
def test_detection_and_values(name: str, detected: str) -> None:
    path = FIXTURES / name
    assert detect_format(path)[0] == detected
    rec = read_recording(path)
    assert isinstance(rec, RRRecording)
    assert rec.format == detected
    assert rec.notes[0].startswith(f"format detected: {detected} (")
    assert rec.rr_ms.dtype == np.float64
    assert rec.rr_ms.tolist() == EXPECTED_MS
    assert rec.path == str(path)


def test_kubios_report_uses_its_time_column_and_measurement_date() -> None:
    rec = read_recording(FIXTURES / "kubios_report.txt")
    assert rec.t_s is not None and len(rec.t_s) == 40  # spectrum-only rows after the last beat skipped
    assert rec.t_s[:3].tolist() == [0.91, 1.858, 2.829]
    assert rec.t_s[-1] == pytest.approx(sum(EXPECTED_MS) / 1000, abs=1e-9)
    assert rec.start_wall == datetime(2026, 3, 1, 7, 15, 42)


def test_kubios_report_seconds_convert_exactly() -> None:
    rec = read_recording(FIXTURES / "kubios_report.txt")
    assert 948.0 in rec.rr_ms.tolist()  # 0.948 s -> exactly 948.0, not 948.0000000000001


def test_polar_sensor_logger_start_and_shared_timestamps() -> None:
    text = (FIXTURES / "polar_sensor_logger_RR.txt").read_text().splitlines()
    stamps = [ln.split(";")[0] for ln in text[1:]]
    assert len(set(stamps)) < len(stamps), "fixture should have two intervals in one notification"
    rec = read_recording(FIXTURES / "polar_sensor_logger_RR.txt")
    assert rec.start_wall == datetime(2026, 3, 1, 7, 15, 43, 155000)
    assert rec.t_s is None  # arrival times are not beat times
    assert any("arrival" in n for n in rec.notes)


def test_hrv_logger_both_layouts() -> None:
    rec = read_recording(FIXTURES / "hrv_logger_RR.csv")
    assert rec.start_wall == datetime(2026, 3, 1, 7, 15, 43, 410000)
    old = read_recording(FIXTURES / "hrv_logger_old_ios_RR.csv")
    assert old.format == "hrv-logger"
    assert old.rr_ms.tolist() == EXPECTED_MS[:12]
    assert old.start_wall == datetime(2026, 3, 1, 7, 15, 42, tzinfo=timezone.utc)


def test_elite_hrv_start_from_file_name() -> None:
    rec = read_recording(FIXTURES / "2026-03-01 07-15-42.txt", format="elite-hrv")
    assert rec.rr_ms.tolist() == EXPECTED_MS
    assert rec.start_wall == datetime(2026, 3, 1, 7, 15, 42)
    assert rec.notes[0] == "format: elite-hrv (as requested)"


def test_csv_column_option_and_plain_units_option() -> None:
    rec = read_recording(FIXTURES / "named_column.csv", format="csv", column="rr_ms", units="ms")
    assert rec.rr_ms.tolist() == EXPECTED_MS
    assert read_recording(FIXTURES / "plain_s.txt", units="s").rr_ms.tolist() == EXPECTED_MS
    with pytest.raises(InputError, match="option column does not apply to format kubios"):
        read_recording(FIXTURES / "kubios_report.txt", column="x")
    with pytest.raises(InputError, match="unknown format 'holter'"):
        read_recording(FIXTURES / "plain_ms.txt", format="holter")


def test_long_intervals_become_gaps_in_every_millisecond_format(tmp_path: Path) -> None:
    f = tmp_path / "rr.txt"
    f.write_text("910,905,4000,900,\n")
    rec = read_recording(f)
    assert rec.format == "elite-hrv"
    assert rec.rr_ms.tolist() == [910.0, 905.0, 900.0]
    assert rec.t_s is not None and rec.t_s.tolist() == pytest.approx([0.91, 1.815, 6.715])


BROKEN = [
    # (file, format or None, expected line, words in the message)
    ("broken_empty.txt", None, None, "empty"),
    ("broken_blank_lines.txt", None, None, "empty"),
    ("broken_binary.bin", None, 1, "binary"),
    ("broken_wrong_column.csv", None, 1, "pass --column"),
    ("broken_negative.txt", None, 3, "negative"),
    ("broken_absurd.txt", None, 3, "impossible RR interval 12 ms"),
    ("broken_mixed_units.txt", None, 3, "mixed units"),
    ("broken_truncated_utf8.txt", None, 4, "UTF-8"),
    ("broken_not_numbers.txt", None, 3, "not a number"),
    ("broken_polar_sensor_logger_RR.txt", None, 3, "not a phone timestamp"),
    ("broken_polar_absurd_RR.txt", None, 3, "impossible RR interval 0.905 ms"),
    ("broken_hrv_logger_RR.csv", None, 3, "expected 3 comma-separated fields"),
    ("broken_kubios_series.txt", None, 5, "mixed units"),
    ("broken_kubios_report.txt", None, None, "RR INTERVAL DATA"),
    ("broken_elite_hrv.txt", None, 1, "empty value between commas"),
    ("kubios_report.txt", "polar-sensor-logger", 1, "Phone timestamp"),
    ("plain_ms.txt", "kubios", 1, "not a Kubios file"),
    ("plain_ms.txt", "hrv-logger", 1, "no 'rr' column"),
    ("polar_sensor_logger_RR.txt", "elite-hrv", 1, "not a number"),
]


@pytest.mark.parametrize(("name", "fmt", "line", "words"), BROKEN)
def test_broken_files_are_one_clear_input_error(name: str, fmt: str | None, line: int | None, words: str) -> None:
    path = FIXTURES / name
    with pytest.raises(InputError) as info:
        read_recording(path, format=fmt)
    err = info.value
    assert words in str(err)
    assert err.path == str(path)
    assert err.line == line
    assert "\n" not in str(err)


def test_huge_line_is_refused_by_every_text_reader(tmp_path: Path) -> None:
    f = tmp_path / "huge.txt"
    f.write_text("910\n" + "9" * 200_000 + "\n905\n")
    for fmt in ("kubios", "polar-sensor-logger", "hrv-logger", "elite-hrv", "plain", "csv"):
        with pytest.raises(InputError) as info:
            read_recording(f, format=fmt, **({"column": "1"} if fmt == "csv" else {}))
        assert info.value.path == str(f)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_recording(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="directory"):
        read_recording(tmp_path)


# -- fuzzing: any bytes give an RRRecording or an InputError, never another exception ------------

_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Phone timestamp;RR-interval [ms]",
                "date,rr,since start",
                "date, timestamp, rr, since start",
                "# SIGNAL/SERIES EXPORT - KUBIOS",
                "HRV ANALYSIS RESULTS - 01-Mar-2026",
                "Kubios HRV Standard",
                "RR INTERVAL DATA and SPECTRUM ESTIMATES,",
                "  ,        Time, RR interval,",
                "  ,         (s),         (s),",
                "  ,       0.910,       0.910,",
                "2026-03-01T07:15:43.155;910",
                "2026-03-01 07:15:43.410,910,0",
                "910",
                "0.91",
                "910,905,",
                "time_s,rr_ms",
                "1e309",
                "nan",
                "-5",
                "",
            ]
        ),
        st.text(max_size=30),
    ),
    max_size=12,
)


def _check_any(path: Path, fmt: str | None) -> None:
    try:
        rec = read_recording(path, format=fmt)
    except InputError as exc:
        assert str(exc)
        return
    assert isinstance(rec, RRRecording)
    assert rec.rr_ms.size > 0 and np.all(np.isfinite(rec.rr_ms)) and np.all(rec.rr_ms > 0)


@pytest.mark.parametrize("fmt", [None, *FORMATS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300), _LINES.map(lambda ls: "\n".join(ls).encode("utf-8"))))
def test_fuzz_any_bytes_never_crash(tmp_path: Path, fmt: str | None, data: bytes) -> None:
    f = tmp_path / "fuzz.txt"
    f.write_bytes(data)
    _check_any(f, fmt)


def test_the_cli_offers_exactly_the_registered_formats() -> None:
    from biofeedback.cli.cmd_import import FORMAT_NAMES

    assert set(FORMAT_NAMES) == set(FORMATS)

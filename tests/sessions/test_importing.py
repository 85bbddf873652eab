"""import_file: one transaction, re-import detection, gaps, start time."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from biofeedback.beat import Gap
from biofeedback.errors import InputError
from sessions.importing import file_sha256, import_file
from sessions.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED_MS = [float(x) for x in (FIXTURES / "rr_values.txt").read_text().split()]


def dump(store: Store) -> str:
    """Every row of the store, as SQL text, read through a separate connection."""
    conn = sqlite3.connect(store.path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def store(home: Path):
    with Store.open_home(home) as s:
        yield s


def test_import_creates_a_complete_import_session(store: Store) -> None:
    path = FIXTURES / "polar_sensor_logger_RR.txt"
    sid = import_file(store, path).session_id
    info = store.get_session(sid)
    assert (info.source_kind, info.status, info.import_format) == ("import", "complete", "polar-sensor-logger")
    assert info.import_sha256 == file_sha256(path)
    assert info.start_wall.startswith("2026-03-01T07:15:43.155")
    assert info.n_beats == 40
    beats = store.beats(sid)
    assert [b.rr_ms for b in beats] == EXPECTED_MS
    t = 0.0
    for b, rr in zip(beats, EXPECTED_MS):
        t += rr
        assert b.t_s == pytest.approx(t / 1000, abs=1e-12)
        assert (b.arrival_s, b.contact, b.rr_ticks_1024, b.artifact) == (None, None, None, None)
    assert store.phases(sid) == []  # documented: imports have no phases
    (event,) = store.events(sid)
    assert event.kind == "import" and event.data["format"] == "polar-sensor-logger"
    assert any("time zone" in n for n in event.data["notes"])  # naive phone time, noted


def test_file_times_are_kept(store: Store) -> None:
    sid = import_file(store, FIXTURES / "kubios_report.txt").session_id
    assert [b.t_s for b in store.beats(sid)][:3] == [0.91, 1.858, 2.829]


def test_reimport_is_refused_naming_the_session_unless_forced(store: Store, tmp_path: Path) -> None:
    src = FIXTURES / "hrv_logger_RR.csv"
    first = import_file(store, src).session_id
    before = dump(store)
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(src.read_bytes())  # same bytes under another name: still the same file
    with pytest.raises(InputError, match=f"already imported as session {first}") as info:
        import_file(store, copy)
    assert info.value.exit_status == 2
    assert dump(store) == before
    second = import_file(store, copy, force=True).session_id
    assert second != first
    assert [b.rr_ms for b in store.beats(second)] == [b.rr_ms for b in store.beats(first)]


@pytest.mark.parametrize("name", ["broken_negative.txt", "broken_truncated_utf8.txt", "broken_binary.bin"])
def test_a_bad_file_leaves_the_store_unchanged(store: Store, name: str) -> None:
    import_file(store, FIXTURES / "plain_ms.txt")
    before = dump(store)
    with pytest.raises(InputError):
        import_file(store, FIXTURES / name)
    assert dump(store) == before


def test_a_failure_in_the_middle_of_writing_rolls_everything_back(store: Store, tmp_path: Path) -> None:
    big = tmp_path / "holter.txt"
    big.write_text("\n".join(str(800 + (i * 7) % 300) for i in range(50_000)) + "\n")
    before = dump(store)
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # after 40 000 beats are inserted in the open transaction
            raise RuntimeError("disk full (simulated by the progress callback)")

    with pytest.raises(RuntimeError, match="disk full"):
        import_file(store, big, progress=progress)
    assert calls == [20_000, 40_000]
    assert dump(store) == before
    sid = import_file(store, big).session_id  # and the same file imports fine afterwards (not marked as imported)
    assert store.get_session(sid).n_beats == 50_000


def test_long_intervals_become_recorded_gaps(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "with_pause.txt"
    f.write_text("900\n910\n5000\n920\n930\n")
    sid = import_file(store, f).session_id
    beats = store.beats(sid)
    assert [b.rr_ms for b in beats] == [900.0, 910.0, 920.0, 930.0]
    assert [b.t_s for b in beats] == pytest.approx([0.9, 1.81, 7.73, 8.66])
    gaps = store.gaps(sid)
    assert len(gaps) == 1 and gaps[0].next_seq == 2
    assert gaps[0].gap == Gap(pytest.approx(1.81), pytest.approx(6.81), "import_gap")
    items = list(store.items(sid))
    assert [type(i).__name__ for i in items] == ["Beat", "Beat", "Gap", "Beat", "Beat"]


@pytest.mark.shared_data
def test_a_22_hour_holter_file_imports_and_round_trips(store: Store, shared_data: Path, tmp_path: Path) -> None:
    import io

    from sessions.exporting import export_session

    src = shared_data / "holter" / "nsr2db_nsr001_rr_secs.txt"
    sid = import_file(store, src, units="s", skip_lines=1).session_id
    info = store.get_session(sid)
    assert info.n_beats > 100_000 and info.duration_s > 22 * 3600
    assert len(store.gaps(sid)) >= 1  # the pauses longer than 3 s the reader left out
    out = io.StringIO()
    export_session(store, sid, "rr", out)
    f = tmp_path / "rr.txt"
    f.write_text(out.getvalue())
    again = import_file(store, f, units="ms").session_id
    assert [b.rr_ms for b in store.beats(again)] == [b.rr_ms for b in store.beats(sid)]


def test_import_file_says_what_it_stored_and_shows_the_notes_before_writing(store: Store) -> None:
    path = FIXTURES / "plain_ms.txt"
    seen: list[tuple[str, ...]] = []

    def on_notes(notes: Sequence[str]) -> None:
        seen.append(tuple(notes))
        assert store.list_sessions() == []  # nothing written yet

    result = import_file(store, path, on_notes=on_notes)
    info = store.get_session(result.session_id)
    assert (result.format, result.n_beats) == (info.import_format, info.n_beats)
    assert seen == [result.notes]
    assert result.notes[-1] == "the file states no start time: the session starts at the file's modification time"
    (event,) = store.events(result.session_id)
    assert tuple(event.data["notes"]) == result.notes

"""Export formats, private output files, and the rr round trip."""

from __future__ import annotations

import io
import json
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from biofeedback.beat import Beat, Gap
from devices.clock import VirtualClock
from sessions.exporting import CSV_HEADER, export_session, open_private_output
from sessions.importing import import_file
from sessions.recorder import Recorder
from sessions.store import NewSession, Store

WALL = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
TICKS = [722, 712, 695, 768, 786, 793, 783, 1041]  # from real strap payloads (shared/data MANIFEST)


@pytest.fixture
def store(home: Path):
    with Store.open_home(home) as s:
        yield s


def _recorded(store: Store) -> str:
    clock = VirtualClock(start_wall=WALL)
    sid = store.create_session(NewSession("live", WALL, device_name="Polar H10 A1B2C3D4", practice="resonance"))
    with Recorder(store, sid, clock=clock) as rec:
        rec.begin_phase("baseline", 0.0)
        t = 0.0
        for i, ticks in enumerate(TICKS):
            rr = ticks * 1000 / 1024
            t += rr / 1000
            if i == 4:
                rec.end_phase("baseline", t - 0.01)
                rec.begin_phase("practice", t - 0.01)
            seq = rec.add_beat(Beat(rr, t, rr_ticks_1024=ticks, arrival_s=t + 0.2, contact=i != 6))
            rec.set_artifact_label(seq, "normal" if i != 7 else "long")
            rec.add_indices(seq, {"t_s": t, "rmssd_ms": 1 / 3 + i, "lf_hf": None})
        rec.add_gap(Gap(t, t + 4.0, "disconnect"))
        rec.add_event(t + 1, "disconnected", {"reason": "link loss"})
    return sid


def test_rr_is_full_precision_one_per_line(store: Store) -> None:
    sid = _recorded(store)
    out = io.StringIO()
    assert export_session(store, sid, "rr", out) == len(TICKS)
    assert out.getvalue().splitlines()[:3] == ["705.078125", "695.3125", "678.7109375"]


def test_rr_round_trip_gives_identical_floats(store: Store, tmp_path: Path) -> None:
    sid = _recorded(store)
    f = tmp_path / "session_rr.txt"
    with open_private_output(f) as out:
        export_session(store, sid, "rr", out)
    again = import_file(store, f).session_id
    assert [b.rr_ms for b in store.beats(again)] == [b.rr_ms for b in store.beats(sid)]


def test_csv_has_every_beat_with_labels_and_phase(store: Store) -> None:
    sid = _recorded(store)
    out = io.StringIO()
    export_session(store, sid, "csv", out)
    lines = out.getvalue().splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == 1 + len(TICKS)
    first = lines[1].split(",")
    assert first == ["0", repr(0.705078125), repr(0.705078125 + 0.2), "705.078125", "722", "1", "normal", "baseline"]
    assert lines[5].split(",")[-1] == "practice"
    assert lines[7].split(",")[5] == "0"  # contact lost on beat 6
    assert lines[8].split(",")[6] == "long"


def test_json_is_the_whole_session(store: Store) -> None:
    sid = _recorded(store)
    out = io.StringIO()
    export_session(store, sid, "json", out)
    doc = json.loads(out.getvalue())
    assert doc["format"] == "biofeedback-session"
    assert doc["session"]["id"] == sid and doc["session"]["practice"] == "resonance"
    assert [p["name"] for p in doc["phases"]] == ["baseline", "practice"]
    assert [b["rr_ms"] for b in doc["beats"]] == [t * 1000 / 1024 for t in TICKS]
    assert doc["gaps"][0]["reason"] == "disconnect" and doc["gaps"][0]["next_seq"] == len(TICKS)
    # one spelling of events (biofeedback.events): phase_begin / phase_end, as live --jsonl says
    assert {e["kind"] for e in doc["events"]} == {"phase_begin", "phase_end", "gap", "disconnected"}
    assert doc["indices"]["2"] == {"t_s": doc["beats"][2]["t_s"], "rmssd_ms": 1 / 3 + 2, "lf_hf": None}


def test_a_session_stored_with_the_old_phase_change_spelling_reads_as_phase_begin_and_end(store: Store) -> None:
    """Stores written before one vocabulary of events hold ``phase_change`` rows: export, replay and
    the typed events read them in today's spelling; the rows themselves stay as they were."""
    from biofeedback.events import PhaseBegin, PhaseEnd
    from sessions.replay import ReplayEvent, SessionReplay

    sid = _recorded(store)
    with store.transaction() as conn:  # what an older release wrote
        conn.execute("UPDATE events SET kind = 'phase_change', data_json = json_object('phase', "
                     "json_extract(data_json, '$.phase'), 'action', substr(kind, 7)) "
                     "WHERE session_id = ? AND kind IN ('phase_begin', 'phase_end')", (sid,))
    raw = [r[0] for r in store.conn.execute("SELECT kind FROM events WHERE session_id = ? ORDER BY ordinal", (sid,))]
    assert raw.count("phase_change") == 3 and "phase_begin" not in raw
    out = io.StringIO()
    export_session(store, sid, "json", out)
    events = json.loads(out.getvalue())["events"]
    phases = [(e["kind"], e["data"]) for e in events if e["kind"].startswith("phase")]
    assert phases == [("phase_begin", {"phase": "baseline"}), ("phase_end", {"phase": "baseline"}),
                      ("phase_begin", {"phase": "practice"})]
    typed = [e.event for e in store.events(sid)]
    assert [type(e) for e in typed[:3]] == [PhaseBegin, PhaseEnd, PhaseBegin]
    replayed = [r.kind for r in SessionReplay(store, sid).records() if isinstance(r, ReplayEvent)]
    assert replayed[:3] == ["phase_begin", "phase_end", "phase_begin"]
    assert [r[0] for r in store.conn.execute("SELECT kind FROM events WHERE session_id = ? ORDER BY ordinal",
                                             (sid,))] == raw  # reading altered nothing


def test_output_file_is_private_and_not_left_half_written(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        f = tmp_path / "out.txt"
        with open_private_output(f) as out:
            out.write("x\n")
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        with pytest.raises(RuntimeError):
            with open_private_output(tmp_path / "failed.txt") as out:
                out.write("partial")
                raise RuntimeError("boom")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    finally:
        os.umask(old)

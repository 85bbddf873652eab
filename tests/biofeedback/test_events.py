"""The one vocabulary of events (biofeedback/events.py): one spelling per kind, typed data fields,
the old stored spelling still read, and every kind the web app's JavaScript looks for is one of them."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from biofeedback import events as ev

ROOT = Path(__file__).resolve().parents[2]

SAMPLES: list[ev.Event] = [
    ev.Connected(0.0, "Polar H10 A1", "AA:BB:CC:DD:EE:FF"),
    ev.Connected(0.0, "Simulator", None, "biofeedback", device_kind="simulator"),
    ev.DeviceInfoRead(0.1, "Polar H10 A1", "AA:BB:CC:DD:EE:FF", "Polar", None, "5.0", 90, "chest", "ble"),
    ev.Disconnected(3.0, "link_lost"),
    ev.Reconnecting(3.0, 1, 0.75, "link_lost"),
    ev.ContactLost(4.0),
    ev.ContactRegained(5.0),
    ev.Battery(6.0, 80),
    ev.MalformedPayload(7.0, "10", "truncated"),
    ev.GapEvent(8.0, "disconnect", 8.0, 12.5),
    ev.ProtocolStart(0.8, 0.8),
    ev.PhaseBegin(0.8, "baseline"),
    ev.PhaseEnd(60.8, "baseline"),
    ev.PromptShown(60.8, "practice.start", "Breathe with the pacer", "en"),
    ev.UserMarker(61.0),
    ev.UserMarker(62.0, "eyes closed"),
    ev.PacerChanged(63.0, 5.5, "4.4-0-6.5-0", "+"),
    ev.SessionEnd(300.0, "finished"),
    ev.Imported(0.0, "polar-txt", "rr.txt", "ab" * 32, ["note"]),
]


def test_one_class_per_kind_and_one_kind_per_class() -> None:
    assert len(ev.KINDS) == len({cls for cls in ev.KINDS.values()})
    assert all(cls.KIND == kind for kind, cls in ev.KINDS.items())
    assert {type(e) for e in SAMPLES} == set(ev.KINDS.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: f"{e.kind}")
def test_every_event_reads_back_from_its_stored_row(event: ev.Event) -> None:
    text = json.dumps(dict(event.data))  # what the recorder stores
    assert ev.event_from_data(event.kind, event.t_s, json.loads(text)) == event
    line = event.to_json_dict("practice")
    assert line == {"type": "event", "t_s": event.t_s, "kind": event.kind, "phase": "practice", "data": dict(event.data)}


def test_events_are_frozen_values() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.PhaseBegin(1.0, "practice").phase = "recovery"  # type: ignore[misc]


def test_data_keeps_the_stored_keys() -> None:
    assert dict(ev.Connected(0.0, "Sim", device_kind="simulator").data) == {"name": "Sim", "kind": "simulator"}
    assert dict(ev.UserMarker(1.0).data) == {} and dict(ev.UserMarker(1.0, "x").data) == {"label": "x"}
    assert dict(ev.GapEvent(2.0, "disconnect", 2.0, 3.0).data) == {"reason": "disconnect", "start_s": 2.0, "end_s": 3.0}
    assert dict(ev.PhaseEnd(5.0, "baseline").data) == {"phase": "baseline"}


def test_the_old_phase_change_spelling_is_read_as_begin_and_end() -> None:
    assert ev.event_from_data("phase_change", 1.0, {"phase": "baseline", "action": "begin"}) == ev.PhaseBegin(1.0, "baseline")
    assert ev.event_from_data("phase_change", 9.0, {"phase": "baseline", "action": "end"}) == ev.PhaseEnd(9.0, "baseline")
    odd = ev.event_from_data("phase_change", 9.0, {"phase": "baseline", "action": "pause"})
    assert isinstance(odd, ev.OtherEvent) and odd.kind == "phase_change" and odd.data["action"] == "pause"


def test_an_unknown_kind_or_odd_data_is_kept_as_stored_never_an_error() -> None:
    other = ev.event_from_data("lsl_note", 2.0, {"text": "hi"})
    assert isinstance(other, ev.OtherEvent) and (other.kind, dict(other.data)) == ("lsl_note", {"text": "hi"})
    odd = ev.event_from_data("user_marker", 2.0, {"note": "eyes closed", "n": 1})
    assert isinstance(odd, ev.OtherEvent) and dict(odd.data) == {"note": "eyes closed", "n": 1}


def test_every_event_kind_the_web_app_looks_for_is_in_the_vocabulary() -> None:
    js = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "biofeedback/web/static").glob("*.js"))
    used = set(re.findall(r"\b[me]\.kind\s*===\s*\"([a-z_]+)\"", js))  # m: a live line, e: a stored event
    assert used, "the app looks for no event kind: the pattern is out of date"
    assert used <= set(ev.KINDS), sorted(used - set(ev.KINDS))


def test_the_device_events_carry_the_fields_of_device_info() -> None:
    """The core cannot import ``devices`` (layers), so Connected / DeviceInfoRead mirror
    ``devices.source.DeviceInfo``: the same fields, its ``kind`` as ``device_kind``."""
    from devices.source import DeviceInfo

    info = DeviceInfo("Polar H10 A1", "AA:BB:CC:DD:EE:FF", "Polar", "H10", "5.0", 90, "chest", "ble")
    assert dict(info.read_event(1.0).data) == dataclasses.asdict(info)
    assert dict(info.connected(1.0).data) == dataclasses.asdict(info)
    assert dict(DeviceInfo("Sim", kind="simulator").connected(0.0).data) == {"name": "Sim", "kind": "simulator"}

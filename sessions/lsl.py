"""Publish a running (or replayed) session to Lab Streaming Layer: three outlets, one consumer.

:class:`LslPublisher` is an output like the JSON-lines stream: a sink of
:func:`sessions.live.run_session` (``on_beat``/``on_event``/``on_frame``), and fed record by record
by ``biofeedback replay``. It never drives the recording: each call hands one sample to liblsl,
whose own threads send it (``push_sample`` does not wait for the network or for a consumer), and
it never raises (a failure is counted in :attr:`LslPublisher.errors` and the session goes on).

The streams (``source_id`` = the session id on all three):

- ``RR`` (name ``biofeedback RR``): one ``float64`` channel ``rr_ms`` (metadata: label ``rr_ms``,
  unit ``ms``, type ``RR``), irregular rate, one sample per beat in beat order;
- ``HRV`` (name ``biofeedback HRV``): the per-beat indices, one ``float64`` channel per numeric key
  of ``biofeedback analyze --per-beat --jsonl`` (:func:`hrv_channels`), NaN where the JSON has
  null, booleans as 0/1;
- ``Markers`` (name ``biofeedback Markers``): one string channel, one sample per event (phase
  changes, prompts, user markers, gaps, connection changes, the end), the JSON text
  ``{"kind", "t_s", "phase", "data"}`` of the ``--jsonl`` event line.

Timestamps: a beat or an event at session time ``t_s`` is stamped ``t0 + t_s`` on the LSL clock,
where ``t0`` is the LSL clock at session time 0 (taken at the first sample: the session's first
event, its first phase, is emitted at ``t_s = 0`` the moment the session clock starts). Beats are
published once the engine has settled them (artifact look-ahead: a few beats later than they
arrived); their timestamps are still the beats' own times.

Discovery on this machine only by default: unless ``LSLAPICFG`` names a configuration file (a
lab's ``lsl_api.cfg``, the user's deliberate choice), :data:`LOOPBACK_CONFIG` is given to liblsl
before its first use. liblsl 1.18 still binds each outlet's TCP data and UDP time ports on all
interfaces (it has no setting for that): see docs/research.md.

pylsl is optional (``pip install 'biofeedback[lsl]'``; its wheel bundles liblsl on current Linux)
and imported only here, inside functions.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from biofeedback.engine import BeatIndices
from biofeedback.errors import InputError
from biofeedback.events import Event

LSL_EXTRA_HINT = "--lsl needs pylsl: pip install 'biofeedback[lsl]'"

#: liblsl configuration: discovery on 127.0.0.1 only (machine scope), outlets listen on loopback,
#: no IPv6, liblsl's own log quiet except fatal errors.
LOOPBACK_CONFIG = """\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
MachineAddresses = {127.0.0.1}
ListenAddress = 127.0.0.1
[lab]
KnownPeers = {127.0.0.1}
[log]
level = -3
"""

#: How long the outlets stay open after the session when someone is listening (see ``close``).
LINGER_S = 1.0
STREAM_NAMES = {"RR": "biofeedback RR", "HRV": "biofeedback HRV", "Markers": "biofeedback Markers"}
_NUMERIC = {"float", "int", "bool", "float | None", "int | None", "bool | None"}
_configured = False


def hrv_channels() -> tuple[str, ...]:
    """The HRV stream's channels: the per-beat JSON keys whose values are numbers (all but the
    ``artifact`` label), in their JSON order."""
    return tuple(f.name for f in fields(BeatIndices) if str(f.type) in _NUMERIC)


def load_pylsl() -> Any:
    """pylsl, configured for loopback unless ``LSLAPICFG`` is set; :class:`InputError` (exit 2)
    saying how to install it when it is missing or its liblsl cannot be loaded."""
    global _configured
    try:
        import pylsl  # type: ignore[import-untyped]
    except (ImportError, OSError, RuntimeError):
        raise InputError(LSL_EXTRA_HINT) from None
    if not _configured:
        if not os.environ.get("LSLAPICFG"):
            pylsl.set_config_content(LOOPBACK_CONFIG)
        _configured = True
    return pylsl


def _number(v: Any) -> float:
    if v is None or isinstance(v, str):
        return math.nan
    f = float(v)
    return f if math.isfinite(f) else math.nan


class LslPublisher:
    """Three LSL outlets for one session: a sink of the live runner and of replay.

    Parameters
    ----------
    pylsl:
        The pylsl module (from :func:`load_pylsl`).
    wait_s:
        After creating the outlets, wait up to this long for a consumer (e.g. LabRecorder) on each
        stream before the session goes on (0: do not wait). The source has not started yet then.
    lsl_clock:
        The LSL clock (default ``pylsl.local_clock``), injected for tests.
    """

    def __init__(self, pylsl: Any, *, wait_s: float = 0.0, lsl_clock: Callable[[], float] | None = None):
        self.pylsl = pylsl
        self.wait_s = wait_s
        self.lsl_clock = lsl_clock or pylsl.local_clock
        self.channels = hrv_channels()
        self.outlets: dict[str, Any] = {}
        self.t0: float | None = None
        self.errors = 0

    # -- outlets ---------------------------------------------------------------------------------
    def start(self, session_id: str) -> None:
        """Create the three outlets (``source_id`` = ``session_id``); call once the session exists."""
        lsl = self.pylsl
        rr = lsl.StreamInfo(STREAM_NAMES["RR"], "RR", 1, lsl.IRREGULAR_RATE, lsl.cf_double64, session_id)
        self._describe(rr, ["rr_ms"], {"rr_ms": "ms"}, kind="RR")
        hrv = lsl.StreamInfo(STREAM_NAMES["HRV"], "HRV", len(self.channels), lsl.IRREGULAR_RATE,
                             lsl.cf_double64, session_id)
        self._describe(hrv, list(self.channels), {c: _unit(c) for c in self.channels}, kind="HRV")
        markers = lsl.StreamInfo(STREAM_NAMES["Markers"], "Markers", 1, lsl.IRREGULAR_RATE, lsl.cf_string,
                                 session_id)
        self.outlets = {"RR": lsl.StreamOutlet(rr), "HRV": lsl.StreamOutlet(hrv),
                        "Markers": lsl.StreamOutlet(markers)}
        if self.wait_s > 0:
            self.wait_for_consumers(self.wait_s)

    @staticmethod
    def _describe(info: Any, labels: list[str], units: Mapping[str, str], *, kind: str) -> None:
        desc = info.desc()
        desc.append_child_value("manufacturer", "biofeedback")
        chans = desc.append_child("channels")
        for label in labels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", units.get(label, ""))
            ch.append_child_value("type", kind)

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Before the session starts: wait up to ``timeout_s`` for a consumer on every stream."""
        deadline = self.lsl_clock() + timeout_s
        ok = True
        for outlet in self.outlets.values():
            ok = outlet.wait_for_consumers(max(deadline - self.lsl_clock(), 0.0)) and ok
        return ok

    def close(self) -> None:
        """After the session: let connected consumers take the last samples, then drop the outlets.

        liblsl has no flush: an outlet destroyed right after its last push loses what its threads
        had not sent yet. So when a stream has a consumer, the outlets stay open :data:`LINGER_S`
        (the recording is over by then)."""
        try:
            if any(o.have_consumers() for o in self.outlets.values()):
                time.sleep(LINGER_S)
        except Exception:  # noqa: BLE001
            self.errors += 1
        self.outlets = {}  # the outlets go away with their last reference

    # -- the sink ----------------------------------------------------------------------------------
    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self.publish_beat(values)

    def on_event(self, event: Event, phase: str | None) -> None:
        self.publish_event(event.t_s, event.kind, phase, event.data)

    def on_frame(self, now_s: float) -> None:
        pass

    # -- publishing ----------------------------------------------------------------------------------
    def stamp(self, t_s: float) -> float:
        """Session time -> LSL clock (anchored at the first sample)."""
        if self.t0 is None:
            self.t0 = self.lsl_clock() - t_s
        return self.t0 + t_s

    def publish_beat(self, d: Mapping[str, Any]) -> None:
        """One settled beat: its ``rr_ms`` on RR, its indices on HRV (a per-beat JSON object)."""
        if not self.outlets:
            return
        try:
            ts = self.stamp(float(d["t_s"]))
            self.outlets["RR"].push_sample([float(d["rr_ms"])], ts)
            self.outlets["HRV"].push_sample([_number(d.get(c)) for c in self.channels], ts)
        except Exception:  # noqa: BLE001 - an output never stops the recording
            self.errors += 1

    def publish_record(self, rec: Any) -> None:
        """One record of :meth:`sessions.replay.SessionReplay.records` (a beat or an event)."""
        if hasattr(rec, "indices"):
            self.publish_beat(rec.indices)
        else:
            self.publish_event(rec.t_s, rec.kind, rec.phase, rec.data)

    def publish_event(self, t_s: float, kind: str, phase: str | None, data: Mapping[str, Any]) -> None:
        if not self.outlets:
            return
        try:
            text = json.dumps({"kind": kind, "t_s": t_s, "phase": phase, "data": dict(data)},
                              ensure_ascii=False, default=str)
            self.outlets["Markers"].push_sample([text], self.stamp(t_s))
        except Exception:  # noqa: BLE001
            self.errors += 1


def _unit(key: str) -> str:
    for suffix, unit in (("_ms2", "ms^2"), ("_ms", "ms"), ("_bpm", "bpm"), ("_hz", "Hz"), ("_pct", "%"),
                         ("_s", "s"), ("_nu", "n.u.")):
        if key.endswith(suffix):
            return unit
    return ""

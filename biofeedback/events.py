"""The one vocabulary of events: what happens during a session besides beats.

Every event is a frozen dataclass with its time ``t_s`` (seconds since the session start) and its
data fields; its ``kind`` is the one spelling used everywhere: the source's items, the store's
``events`` table, ``--jsonl`` lines (``{"type": "event", "t_s", "kind", "phase", "data"}``),
``replay``, ``export``, the LSL ``Markers`` stream, the report and the web app. ``data`` is the
event's fields as a JSON object (the ``data`` of those lines and rows)::

    >>> e = PhaseBegin(12.0, "practice")
    >>> e.kind, dict(e.data)
    ('phase_begin', {'phase': 'practice'})
    >>> event_from_data("phase_change", 30.0, {"phase": "practice", "action": "end"})
    PhaseEnd(t_s=30.0, phase='practice')

Stored sessions written before one spelling (releases up to 0.x) say ``phase_change`` with
``{"phase", "action": "begin" | "end"}``; :func:`event_from_data` reads them as
:class:`PhaseBegin` / :class:`PhaseEnd`. A kind this module does not know (or a row whose data
does not fit its kind) is read as :class:`OtherEvent`, with its kind and data as stored: reading a
session never fails on an event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

#: The old spelling of a phase's begin or end (data ``{"phase", "action"}``), still read from stores.
OLD_PHASE_CHANGE = "phase_change"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at ``t_s`` (seconds since the session start)."""

    t_s: float
    KIND: ClassVar[str] = ""
    #: Data keys spelled differently from the field (field name -> key).
    _KEYS: ClassVar[Mapping[str, str]] = {}
    #: Fields left out of ``data`` when ``None`` (or empty).
    _OMIT_EMPTY: ClassVar[bool] = False

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def data(self) -> Mapping[str, Any]:
        """The event's fields but ``t_s``, as a JSON-able mapping (the stored ``data``)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "t_s":
                continue
            value = getattr(self, f.name)
            if self._OMIT_EMPTY and value in (None, ""):
                continue
            out[self._KEYS.get(f.name, f.name)] = value
        return MappingProxyType(out)

    def to_json_dict(self, phase: str | None = None) -> dict[str, Any]:
        """The ``--jsonl`` line of this event: ``{"type": "event", "t_s", "kind", "phase", "data"}``."""
        return {"type": "event", "t_s": self.t_s, "kind": self.kind, "phase": phase, "data": dict(self.data)}


# -- from the heart-rate source (devices/) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AboutDevice(Event):
    """What a source says about itself: the fields of ``devices.source.DeviceInfo`` (its ``kind``,
    data key ``"kind"``, is the field ``device_kind`` here)."""

    _KEYS: ClassVar[Mapping[str, str]] = {"device_kind": "kind"}
    name: str | None = None
    address: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    battery_pct: int | None = None
    body_location: str | None = None
    device_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Connected(_AboutDevice):
    """The source is connected; what it says about itself (fields it does not provide are left out)."""

    KIND: ClassVar[str] = "connected"
    _OMIT_EMPTY: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class DeviceInfoRead(_AboutDevice):
    """The Device Information of a strap, read after connecting (every field, ``None`` if absent)."""

    KIND: ClassVar[str] = "device_info"


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The source went away; ``reason`` e.g. ``link_lost``, ``finished``, ``stopped``."""

    KIND: ClassVar[str] = "disconnected"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Reconnecting(Event):
    """Attempt ``attempt`` to reconnect starts after ``delay_s`` seconds; ``after`` = why."""

    KIND: ClassVar[str] = "reconnecting"
    attempt: int = 0
    delay_s: float = 0.0
    after: str = ""


@dataclass(frozen=True, slots=True)
class ContactLost(Event):
    """The strap reports no skin contact."""

    KIND: ClassVar[str] = "contact_lost"


@dataclass(frozen=True, slots=True)
class ContactRegained(Event):
    """The strap reports skin contact again."""

    KIND: ClassVar[str] = "contact_regained"


@dataclass(frozen=True, slots=True)
class Battery(Event):
    """The strap's battery level, in percent (sent when it changes)."""

    KIND: ClassVar[str] = "battery"
    battery_pct: int = 0


@dataclass(frozen=True, slots=True)
class MalformedPayload(Event):
    """A notification that is not a valid Heart Rate Measurement: its bytes and what is wrong."""

    KIND: ClassVar[str] = "malformed_payload"
    payload_hex: str = ""
    problem: str = ""


# -- from the session (sessions/) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GapEvent(Event):
    """No beats from ``start_s`` to ``end_s`` (``t_s`` = ``start_s``); ``reason`` as the :class:`~biofeedback.beat.Gap`'s."""

    KIND: ClassVar[str] = "gap"
    reason: str = ""
    start_s: float = 0.0
    end_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ProtocolStart(Event):
    """The protocol (and its clock) starts at session time ``origin_s``: the first beat's interval began."""

    KIND: ClassVar[str] = "protocol_start"
    origin_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PhaseBegin(Event):
    """Phase ``phase`` (baseline, practice, recovery...) begins."""

    KIND: ClassVar[str] = "phase_begin"
    phase: str = ""


@dataclass(frozen=True, slots=True)
class PhaseEnd(Event):
    """Phase ``phase`` ends."""

    KIND: ClassVar[str] = "phase_end"
    phase: str = ""


@dataclass(frozen=True, slots=True)
class PromptShown(Event):
    """The guidance prompt ``key`` was shown, in language ``lang``, with ``text``."""

    KIND: ClassVar[str] = "prompt_shown"
    key: str = ""
    text: str = ""
    lang: str = ""


@dataclass(frozen=True, slots=True)
class UserMarker(Event):
    """The user set a marker (space key, the app's button); ``label`` is left out when empty."""

    KIND: ClassVar[str] = "user_marker"
    _OMIT_EMPTY: ClassVar[bool] = True
    label: str = ""


@dataclass(frozen=True, slots=True)
class PacerChanged(Event):
    """The pacer now breathes at ``rate_bpm`` (``pattern`` IN-HOLD-OUT-HOLD s), after key ``key``
    (``+`` slower, ``-`` faster)."""

    KIND: ClassVar[str] = "pacer_changed"
    rate_bpm: float = 0.0
    pattern: str = ""
    key: str = ""


@dataclass(frozen=True, slots=True)
class SessionEnd(Event):
    """The session ended: ``finished``, ``quit``, ``interrupted`` or ``source_ended``."""

    KIND: ClassVar[str] = "session_end"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Imported(Event):
    """The session was imported from ``file`` (``format``, its ``sha256``, the reader's ``notes``)."""

    KIND: ClassVar[str] = "import"
    format: str = ""
    file: str = ""
    sha256: str = ""
    notes: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class OtherEvent(Event):
    """An event of a kind this vocabulary does not know (or whose data does not fit its kind), as stored."""

    name: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.name

    @property
    def data(self) -> Mapping[str, Any]:
        return MappingProxyType(dict(self.fields))


#: The events a heart-rate source produces.
DeviceEvent = Connected | DeviceInfoRead | Disconnected | Reconnecting | ContactLost | ContactRegained | Battery | MalformedPayload

KINDS: Mapping[str, type[Event]] = MappingProxyType({
    cls.KIND: cls
    for cls in (
        Connected, DeviceInfoRead, Disconnected, Reconnecting, ContactLost, ContactRegained, Battery,
        MalformedPayload, GapEvent, ProtocolStart, PhaseBegin, PhaseEnd, PromptShown, UserMarker,
        PacerChanged, SessionEnd, Imported,
    )
})


def event_from_data(kind: str, t_s: float, data: Mapping[str, Any] | None = None) -> Event:
    """The typed event of a stored row or a ``--jsonl`` line (``kind``, ``t_s``, ``data``).

    Reads the old spelling ``phase_change`` (``{"phase", "action": "begin" | "end"}``) as
    :class:`PhaseBegin` / :class:`PhaseEnd`; anything that does not fit a known kind becomes an
    :class:`OtherEvent` with the kind and data as given (never an error)."""
    data = dict(data or {})
    t = float(t_s)
    if kind == OLD_PHASE_CHANGE and set(data) == {"phase", "action"} and data["action"] in ("begin", "end"):
        phase = str(data["phase"])
        return PhaseBegin(t, phase) if data["action"] == "begin" else PhaseEnd(t, phase)
    known = KINDS.get(kind)
    if known is not None:
        keys = {known._KEYS.get(f.name, f.name): f.name for f in dataclasses.fields(known) if f.name != "t_s"}
        if set(data) <= set(keys):
            return known(t, **{keys[k]: v for k, v in data.items()})
    return OtherEvent(t, kind, data)

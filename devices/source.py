"""The one source protocol every heart-rate source implements.

Usage, the same for a BLE strap, the simulator and a replay::

    async with source:
        async for item in source.stream():
            ...  # item is a Beat, a Gap or a DeviceEvent, in time order

A source stamps what it produces with times in seconds since the session start (its ``t0``), read
from the injected :class:`devices.clock.Clock`. ``stream()`` ends when the source is exhausted (a
simulator with a set duration, a finished replay) or when ``stop()`` is called; a BLE strap keeps
reconnecting until then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from biofeedback.beat import Beat, Gap

# Event kinds, in the user's words. Every one is recorded.
CONNECTED = "connected"
DISCONNECTED = "disconnected"  # data: reason
RECONNECTING = "reconnecting"  # data: attempt, delay_s
CONTACT_LOST = "contact_lost"
CONTACT_REGAINED = "contact_regained"
BATTERY = "battery"  # data: battery_pct
MALFORMED_PAYLOAD = "malformed_payload"  # data: payload_hex, problem
DEVICE_INFO = "device_info"  # data: the DeviceInfo fields


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something that happened to the source at ``t_s`` (seconds since session start)."""

    kind: str
    t_s: float
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a source says about itself. Fields a device does not provide are ``None``."""

    name: str
    address: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    battery_pct: int | None = None
    body_location: str | None = None
    kind: str = "ble"  # "ble", "simulator", "virtual", "replay", "import"


SourceItem = Beat | Gap | DeviceEvent


@runtime_checkable
class HeartRateSource(Protocol):
    """A stream of beats, gaps and device events."""

    info: DeviceInfo

    async def __aenter__(self) -> "HeartRateSource": ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def stream(self) -> AsyncIterator[SourceItem]: ...

    def stop(self) -> None:
        """Ask the stream to end soon (idempotent); ``stream()`` then finishes cleanly."""

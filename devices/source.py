"""The one source protocol every heart-rate source implements.

Usage, the same for a BLE strap, the simulator and a replay::

    async with source:
        async for item in source.stream():
            ...  # item is a Beat, a Gap or a DeviceEvent, in time order

A ``DeviceEvent`` is one of the typed events of :mod:`biofeedback.events` a source produces
(``Connected``, ``Disconnected``, ``Reconnecting``, ``ContactLost``, ``ContactRegained``,
``Battery``, ``MalformedPayload``, ``DeviceInfoRead``); every one is recorded.

A source stamps what it produces with times in seconds since the session start (its ``t0``), read
from the injected :class:`devices.clock.Clock`. ``stream()`` ends when the source is exhausted (a
simulator with a set duration, a finished replay) or when ``stop()`` is called; a BLE strap keeps
reconnecting until then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from biofeedback.beat import Beat, Gap
from biofeedback.events import Connected, DeviceEvent, DeviceInfoRead


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

    def connected(self, t_s: float) -> Connected:
        """The :class:`~biofeedback.events.Connected` event saying what this source is (``None`` fields left out)."""
        return Connected(t_s, self.name, self.address, self.manufacturer, self.model, self.firmware,
                         self.battery_pct, self.body_location, self.kind)

    def read_event(self, t_s: float) -> DeviceInfoRead:
        """The :class:`~biofeedback.events.DeviceInfoRead` event carrying every field."""
        return DeviceInfoRead(t_s, self.name, self.address, self.manufacturer, self.model, self.firmware,
                              self.battery_pct, self.body_location, self.kind)


SourceItem = Beat | Gap | DeviceEvent

__all__ = ["DeviceEvent", "DeviceInfo", "HeartRateSource", "SourceItem"]


@runtime_checkable
class HeartRateSource(Protocol):
    """A stream of beats, gaps and device events."""

    info: DeviceInfo

    async def __aenter__(self) -> "HeartRateSource": ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def stream(self) -> AsyncIterator[SourceItem]: ...

    def stop(self) -> None:
        """Ask the stream to end soon (idempotent); ``stream()`` then finishes cleanly."""

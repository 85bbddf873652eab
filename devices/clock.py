"""Clocks, injected wherever time matters, so that tests never sleep.

A clock gives monotonic seconds and one wall-clock reading for the session anchor, and can wait.

- :class:`RealClock`: ``time.monotonic`` and ``asyncio.sleep``; what a live session uses.
- :class:`VirtualClock`: simulated time that advances only when a task sleeps on it, instantly.
  It is meant for one time-driving task (a simulator, a replay); "as fast as possible".
- :class:`ScaledClock`: real time run ``speed`` times faster (``--speed 10``).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def monotonic_s(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""

    def wall_now(self) -> datetime:
        """The current wall time, timezone-aware (used once per session as the anchor)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class RealClock:
    """The machine's clocks."""

    def monotonic_s(self) -> float:
        return time.monotonic()

    def wall_now(self) -> datetime:
        return datetime.now().astimezone()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Real time accelerated by ``speed`` (> 0): one real second is ``speed`` clock seconds."""

    def __init__(self, speed: float, *, start_wall: datetime | None = None):
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._origin = time.monotonic()
        self._start_wall = start_wall or datetime.now().astimezone()

    def monotonic_s(self) -> float:
        return (time.monotonic() - self._origin) * self.speed

    def wall_now(self) -> datetime:
        from datetime import timedelta

        return self._start_wall + timedelta(seconds=self.monotonic_s())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class VirtualClock:
    """Simulated time, starting at ``start_s``; ``sleep`` advances it at once (yielding to the loop).

    Deterministic: the same sequence of sleeps gives the same readings on every machine.
    """

    def __init__(self, start_s: float = 0.0, *, start_wall: datetime | None = None):
        self._now = float(start_s)
        self._start_s = float(start_s)
        self._start_wall = start_wall or datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)

    def monotonic_s(self) -> float:
        return self._now

    def wall_now(self) -> datetime:
        from datetime import timedelta

        return self._start_wall + timedelta(seconds=self._now - self._start_s)

    def advance(self, seconds: float) -> None:
        """Move time forward without yielding (for synchronous tests)."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        self._now += seconds

    def catch_up(self, t_s: float, origin_s: float) -> None:
        """Move time forward to ``origin_s + t_s`` if it is not there yet, without yielding: the same
        reading as ``advance(max(0.0, t_s - (monotonic_s() - origin_s)))``, in one call (a simulator at
        full speed does this for most beats, :class:`devices.simulator.SimulatorSource`)."""
        now = self._now
        seconds = t_s - (now - origin_s)
        self._now = now + seconds if seconds > 0.0 else now + 0.0  # max(0.0, seconds) keeps 0.0 unless greater

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class LoopClock:
    """The running event loop's own clock, ``loop.time()``; ``sleep`` is ``asyncio.sleep``.

    Under :class:`devices.bumble_backend.virtual_time.VirtualTimeEventLoop` this is virtual time
    that jumps only when every task waits, so a simulated BLE link delivers each notification
    before time moves on: as fast as possible, and deterministic. On a normal loop it is real time.
    """

    def __init__(self, *, start_wall: datetime | None = None):
        self._start_wall = start_wall
        self._origin: float | None = None

    def monotonic_s(self) -> float:
        return asyncio.get_running_loop().time()

    def wall_now(self) -> datetime:
        from datetime import timedelta

        now = self.monotonic_s()
        if self._origin is None:
            self._origin = now
            self._start_wall = self._start_wall or datetime.now().astimezone()
        assert self._start_wall is not None
        return self._start_wall + timedelta(seconds=now - self._origin)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

"""The simulator behind a virtual BLE strap: the source of ``biofeedback demo --ble``.

The simulated person's beats are grouped into Heart Rate Measurement notifications as a strap
sends them (:func:`devices.simulator.iter_notifications`), served by a
:class:`~devices.virtual_strap.VirtualStrap` on an in-process bumble link, and received by the
production :class:`~devices.ble_strap.BleStrap` through bleak and the bumble backend: the whole BLE
path of a real session (discovery by service UUID, GATT reads, subscription, parsing, beat timing),
with no hardware.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from biofeedback.beat import Beat
from devices.ble_stack import ble_backend_on_link, close_backend
from devices.ble_strap import BleStrap
from devices.clock import Clock
from devices.hrm_parser import parse_heart_rate_measurement
from devices.simulator import RRSimulator, iter_notifications
from devices.source import DeviceInfo, SourceItem


class VirtualStrapSource:
    """A :class:`~devices.source.HeartRateSource`: the BLE strap source, fed by a virtual strap.

    The stream ends once every RR value the strap sent has arrived as a beat (or on ``stop()``).
    """

    def __init__(self, strap_source: BleStrap, expected_beats: int):
        self._inner = strap_source
        self.expected_beats = expected_beats
        self._stopped = False

    @property
    def info(self) -> DeviceInfo:
        return self._inner.info

    async def __aenter__(self) -> "VirtualStrapSource":
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def stop(self) -> None:
        self._stopped = True
        self._inner.stop()

    async def stream(self) -> AsyncIterator[SourceItem]:
        beats = 0
        async for item in self._inner.stream():
            yield item
            if isinstance(item, Beat):
                beats += 1
                if beats >= self.expected_beats:
                    self._inner.stop()
            if self._stopped:
                self._inner.stop()


@contextlib.asynccontextmanager
async def virtual_strap_source(person: RRSimulator, *, clock: Clock, duration_s: float) -> AsyncIterator[VirtualStrapSource]:
    """A virtual strap serving ``person``'s notifications for ``duration_s``, and the BLE source on it."""
    from bumble.link import LocalLink

    from devices.virtual_strap import VirtualStrap

    schedule = [(n.arrival_s, n.payload) for n in iter_notifications(person, duration_s=duration_s)]
    expected = sum(len(parse_heart_rate_measurement(p).rr_ticks_1024) for _, p in schedule)
    link = LocalLink()
    strap = VirtualStrap(link)
    backend, kwargs = ble_backend_on_link(link)
    await strap.start()
    source = BleStrap(strap.name, clock=clock, backend=backend, backend_kwargs=kwargs)

    async def serve() -> None:
        await strap.wait_subscribed()
        t0 = clock.monotonic_s()
        await strap.play([(t0 + t, payload) for t, payload in schedule], clock)

    player = asyncio.create_task(serve())
    try:
        yield VirtualStrapSource(source, expected)
    finally:
        player.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await player
        await close_backend(kwargs)
        await strap.close()

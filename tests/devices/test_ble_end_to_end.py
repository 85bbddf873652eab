"""The production BLE source end to end, without hardware:

    BleStrap -> bleak (public API) -> bumble backend -> bumble host -> virtual controller
      -> in-process LocalLink -> virtual controller -> bumble GATT server (VirtualStrap)

Every test runs on a virtual-time event loop (:mod:`devices.bumble_backend.virtual_time`): bumble's
advertising intervals and bleak's scan windows take their real duration in loop time but no
wall time; session time (notification arrivals, reconnection backoff) is a
:class:`~devices.clock.VirtualClock` driven by the test. Nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from bumble.link import LocalLink

from biofeedback.beat import Beat, Gap
from devices.ble_stack import ble_backend_on_link, close_backend
from devices.ble_strap import BleStrap, discover_heart_rate_devices
from devices.bumble_backend.virtual_time import run_virtual
from devices.clock import VirtualClock
from devices.errors import DeviceNotFoundError
from devices.source import DeviceEvent, HeartRateSource, SourceItem
from devices.virtual_strap import REASON_CONNECTION_TIMEOUT, REASON_REMOTE_USER_TERMINATED, VirtualStrap, heart_rate_payload

pytestmark = pytest.mark.ble

#: Bound on any single wait, in *virtual* loop seconds: a bug fails fast instead of hanging.
WAIT_S = 120.0


async def take_until(it: AsyncIterator[SourceItem], done: Callable[[SourceItem], bool]) -> list[SourceItem]:
    """Items from the stream up to and including the first for which ``done`` is true."""
    items: list[SourceItem] = []
    async with asyncio.timeout(WAIT_S):
        while True:
            item = await anext(it)
            items.append(item)
            if done(item):
                return items


def is_event(kind: str) -> Callable[[SourceItem], bool]:
    return lambda item: isinstance(item, DeviceEvent) and item.kind == kind


def is_beat(item: SourceItem) -> bool:
    return isinstance(item, Beat)


def events_of(items: list[SourceItem], kind: str) -> list[DeviceEvent]:
    return [i for i in items if isinstance(i, DeviceEvent) and i.kind == kind]


class Rig:
    """A link with one strap (plus optional others) and the production source on the bumble backend."""

    def __init__(self, *others: dict) -> None:
        self.link = LocalLink()
        self.clock = VirtualClock()
        self.strap = VirtualStrap(self.link)
        self.others = [VirtualStrap(self.link, **o) for o in others]
        self.backend, self.kwargs = ble_backend_on_link(self.link)

    async def __aenter__(self) -> "Rig":
        for s in (self.strap, *self.others):
            await s.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await close_backend(self.kwargs)
        for s in (self.strap, *self.others):
            await s.close()

    def source(self, identifier: str | None = "Polar H10 V1RTU4L", **options: object) -> BleStrap:
        return BleStrap(identifier, clock=self.clock, backend=self.backend, backend_kwargs=self.kwargs, **options)

    async def beat(self, it: AsyncIterator[SourceItem], ticks: list[int], **payload: object) -> list[SourceItem]:
        """Advance session time by the RR, send one notification, return the items up to its last beat."""
        await self.clock.sleep(sum(ticks) / 1024)
        assert await self.strap.send_rr(ticks, **payload), "the strap had no subscriber"
        items: list[SourceItem] = []
        for _ in ticks:
            items += await take_until(it, is_beat)
        return items


def test_discovery_goes_by_service_uuid_not_by_name() -> None:
    async def main() -> None:
        decoys = (
            {"name": "Heart Rate Speaker", "address": "F0:10:20:30:40:61", "heart_rate": False},
            {"name": "Polar H10 (bike)", "address": "F0:10:20:30:40:62", "heart_rate": False,
             "advertised_uuids16": (0x1816,)},
            {"name": "XYZ-123", "address": "F0:10:20:30:40:63"},  # a strap with an unhelpful name
        )
        async with Rig(*decoys) as rig:
            found = await discover_heart_rate_devices(3.0, backend=rig.backend, backend_kwargs=rig.kwargs)
            assert sorted((d.name, d.address) for d in found) == [
                ("Polar H10 V1RTU4L", "F0:10:20:30:40:50"),
                ("XYZ-123", "F0:10:20:30:40:63"),
            ]
            assert all(d.rssi < 0 for d in found)
            # A misleading name is not enough to be connected to.
            source = rig.source("Heart Rate Speaker", scan_timeout_s=2.0)
            async with source:
                with pytest.raises(DeviceNotFoundError, match="Heart Rate Speaker"):
                    await anext(source.stream())

    run_virtual(main())


def test_every_rr_tick_arrives_in_order_exactly_as_sent() -> None:
    # About one notification a second, as straps send them: 1 to 3 RR values each.
    sent = [[1000], [510, 505], [340, 345, 338], [1024], [480, 530], [1023], [2047]]

    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            assert isinstance(source, HeartRateSource)
            async with source:
                it = source.stream().__aiter__()
                connected = await take_until(it, is_event("connected"))
                assert connected[-1].data["address"] == "F0:10:20:30:40:50"
                items: list[SourceItem] = []
                for i, ticks in enumerate(sent):
                    # uint16 HR and the energy field on some notifications: the parser must skip them right
                    items += await rig.beat(it, ticks, uint16=i % 2 == 1, energy_expended_kj=(300 + i) if i % 3 == 0 else None)
                source.stop()
                items += [x async for x in it]
        beats = [b for b in items if isinstance(b, Beat)]
        assert [b.rr_ticks_1024 for b in beats] == [t for ticks in sent for t in ticks]
        assert [b.rr_ms for b in beats] == [t * 1000 / 1024 for ticks in sent for t in ticks]
        assert all(b.contact is True for b in beats)
        assert not [i for i in items if isinstance(i, Gap)]
        # arrival stamps come from the injected clock: one per notification, as the test advanced it
        arrivals = sorted({b.arrival_s for b in beats})
        assert arrivals == pytest.approx(list(__import__("itertools").accumulate(sum(t) / 1024 for t in sent)))
        assert all(b2.t_s > b1.t_s for b1, b2 in zip(beats, beats[1:]))

    run_virtual(main())


def test_three_forced_disconnects_are_recovered_with_gaps_and_no_beat_lost_while_connected() -> None:
    async def main() -> None:
        async with Rig() as rig:
            source = rig.source(backoff_seed=7)
            sent: list[int] = []
            items: list[SourceItem] = []
            async with source:
                it = source.stream().__aiter__()
                items += await take_until(it, is_event("connected"))
                for round_ in range(4):
                    for k in range(5):
                        ticks = [900 + 10 * round_ + k]
                        items += await rig.beat(it, ticks)
                        sent += ticks
                    if round_ == 0:  # the wearer takes the strap off
                        await rig.strap.drop_link(REASON_REMOTE_USER_TERMINATED)
                    elif round_ == 1:  # walks out of range, and the strap is not heard for a while
                        await rig.strap.go_out_of_range()
                        items += await take_until(it, is_event("reconnecting"))
                        items += await take_until(it, is_event("reconnecting"))  # first retry found nothing
                        rig.strap.come_back()
                    elif round_ == 2:  # the session's side drops (e.g. radio interference)
                        await rig.strap.drop_link(0x3E)  # connection failed to be established / sync lost
                    else:
                        break
                    items += await take_until(it, is_event("connected"))
                source.stop()
                items += [x async for x in it]

            beats = [b for b in items if isinstance(b, Beat)]
            gaps = [g for g in items if isinstance(g, Gap)]
            assert [b.rr_ticks_1024 for b in beats] == sent  # every beat sent while connected, in order
            assert rig.strap.dropped == 0
            assert [g.reason for g in gaps] == ["disconnect"] * 3
            assert len(events_of(items, "disconnected")) == 3
            assert {e.data["reason"] for e in events_of(items, "disconnected")} == {"link_lost"}
            assert len(events_of(items, "connected")) == 4
            reconnecting = events_of(items, "reconnecting")
            assert [e.data["attempt"] for e in reconnecting] == [1, 1, 2, 1]
            assert all(e.data["delay_s"] > 0 for e in reconnecting)
            # each gap spans the outage: it starts at the last beat before and ends before the next
            for gap in gaps:
                before = max(b.t_s for b in beats if b.t_s <= gap.start_s)
                after = min(b.t_s for b in beats if b.t_s > gap.start_s)
                assert gap.start_s == before and gap.end_s <= after and gap.duration_s > 0
            assert rig.strap.disconnect_reasons[:3] == [REASON_REMOTE_USER_TERMINATED, REASON_CONNECTION_TIMEOUT, 0x3E]
            assert rig.strap.connections == 4

    run_virtual(main())


def test_battery_body_location_and_device_information_are_read() -> None:
    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            async with source:
                it = source.stream().__aiter__()
                items = await take_until(it, is_event("battery"))
                info = events_of(items, "device_info")[0].data
                assert info["manufacturer"] == "Polar Electro Oy"
                assert info["model"] == "H10"
                assert info["firmware"] == "5.0.0"
                assert info["body_location"] == "chest"
                assert info["address"] == "F0:10:20:30:40:50"
                assert events_of(items, "battery")[0].data == {"battery_pct": 87}
                await rig.strap.set_battery(55)
                assert (await take_until(it, is_event("battery")))[-1].data == {"battery_pct": 55}
                assert source.info.battery_pct == 55 and source.info.model == "H10"

    run_virtual(main())


def test_malformed_payloads_become_events_and_good_beats_continue() -> None:
    bad = [b"", b"\x10\x40\x00", b"\x01\x50", b"\x18\x40\x01"]

    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            async with source:
                it = source.stream().__aiter__()
                await take_until(it, is_event("connected"))
                items = await rig.beat(it, [1000])
                for payload in bad:
                    assert await rig.strap.notify(payload)
                    items += await take_until(it, is_event("malformed_payload"))
                items += await rig.beat(it, [1002, 998])
                # a burst: several notifications back to back, good and bad mixed
                await rig.clock.sleep(2.0)
                await rig.strap.burst([heart_rate_payload(60, [1001]), b"\x10", heart_rate_payload(60, [999])])
                items += await take_until(it, is_beat)
                items += await take_until(it, is_beat)
        malformed = events_of(items, "malformed_payload")
        assert [bytes.fromhex(e.data["payload_hex"]) for e in malformed] == bad + [b"\x10"]
        assert all(e.data["problem"] for e in malformed)
        assert [b.rr_ticks_1024 for b in items if isinstance(b, Beat)] == [1000, 1002, 998, 1001, 999]
        assert source.malformed_count == 5

    run_virtual(main())


def test_contact_lost_and_regained_are_events() -> None:
    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            async with source:
                it = source.stream().__aiter__()
                await take_until(it, is_event("connected"))
                items = await rig.beat(it, [1000])
                items += await rig.beat(it, [1000], contact=False)
                items += await rig.beat(it, [1000], contact=True)
        kinds = [i.kind if isinstance(i, DeviceEvent) else type(i).__name__ for i in items]
        kinds = [k for k in kinds if k not in ("device_info", "battery")]
        assert kinds == ["Beat", "contact_lost", "Beat", "contact_regained", "Beat"]
        assert [b.contact for b in items if isinstance(b, Beat)] == [True, False, True]

    run_virtual(main())


def test_stop_unsubscribes_and_disconnects_cleanly() -> None:
    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            async with source:
                it = source.stream().__aiter__()
                await take_until(it, is_event("connected"))
                await rig.beat(it, [1000])
                source.stop()
                rest = [x async for x in it]
            assert not events_of(rest, "disconnected")  # a requested stop is not a dropout
            assert rig.strap.subscription_log == [True, False]  # CCCD written off before leaving
            async with asyncio.timeout(WAIT_S):
                await rig.strap.wait_disconnected()
            assert rig.strap.disconnect_reasons == [REASON_REMOTE_USER_TERMINATED]

    run_virtual(main())


def test_cancellation_like_ctrl_c_still_disconnects() -> None:
    async def main() -> None:
        async with Rig() as rig:
            source = rig.source()
            connected = asyncio.Event()

            async def session() -> None:
                async with source:
                    async for item in source.stream():
                        if isinstance(item, DeviceEvent) and item.kind == "connected":
                            connected.set()

            task = asyncio.create_task(session())
            async with asyncio.timeout(WAIT_S):
                await connected.wait()
                await rig.strap.wait_subscribed()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with asyncio.timeout(WAIT_S):
                await rig.strap.wait_disconnected()
            assert rig.strap.subscription_log == [True, False]

    run_virtual(main())


def test_no_strap_in_range_fails_with_device_not_found() -> None:
    async def main() -> None:
        async with Rig() as rig:
            await rig.strap.go_out_of_range()
            source = rig.source(scan_timeout_s=5.0)
            async with source:
                with pytest.raises(DeviceNotFoundError, match="Polar H10 V1RTU4L"):
                    await anext(source.stream())

    run_virtual(main())


def test_a_simulated_minute_through_ble_equals_timing_the_notifications_directly() -> None:
    """The BLE path adds nothing and loses nothing: the simulator's notifications, sent by the
    virtual strap at their arrival times, give exactly the beats that BeatTimer gives when fed
    the same (arrival, payload) pairs directly."""
    from devices.beat_timing import BeatTimer
    from devices.hrm_parser import parse_heart_rate_measurement
    from devices.simulator import RRSimulator, iter_notifications

    notifications = list(iter_notifications(RRSimulator(seed=11, profile="rest"), duration_s=60.0))
    direct: list[SourceItem] = []
    timer = BeatTimer()
    for n in notifications:
        direct += timer.push(n.arrival_s, parse_heart_rate_measurement(n.payload))

    async def main() -> list[SourceItem]:
        async with Rig() as rig:
            source = rig.source()
            got: list[SourceItem] = []
            async with source:
                it = source.stream().__aiter__()
                await take_until(it, is_event("connected"))
                t0 = rig.clock.monotonic_s()
                for n in notifications:
                    await rig.clock.sleep(t0 + n.arrival_s - rig.clock.monotonic_s())
                    assert await rig.strap.notify(n.payload)
                    for _ in parse_heart_rate_measurement(n.payload).rr_ticks_1024:
                        got += [i for i in await take_until(it, is_beat) if isinstance(i, (Beat, Gap))]
            return got

    got = run_virtual(main())
    assert len(direct) > 50
    t_shift = got[0].arrival_s - direct[0].arrival_s  # type: ignore[union-attr]
    assert [(b.rr_ticks_1024, b.rr_ms) for b in got] == [(b.rr_ticks_1024, b.rr_ms) for b in direct]  # type: ignore[union-attr]
    assert [b.t_s - t_shift for b in got] == pytest.approx([b.t_s for b in direct], abs=1e-9)  # type: ignore[union-attr]


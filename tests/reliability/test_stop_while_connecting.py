"""Stopping is prompt in every connection state: with the strap out of range and a scan pending, the
end of the protocol (or Ctrl-C) ends the session within 1 s, keeping every beat recorded.

Virtual-time event loop: the strap, the scan timeouts and the session clock are all loop time."""

from __future__ import annotations

import asyncio

import pytest
from bumble.link import LocalLink

from biofeedback.practices import Protocol, get_practice
from devices.ble_stack import ble_backend_on_link, close_backend
from devices.ble_strap import BleStrap
from devices.bumble_backend.virtual_time import run_virtual
from devices.clock import LoopClock
from devices.virtual_strap import VirtualStrap
from sessions.live import SessionPlan, run_session
from sessions.store import Store

pytestmark = pytest.mark.ble

PROTOCOL = Protocol(baseline_s=10, practice_s=10, recovery_s=5)  # ends at 25 s, mid-scan


def _run(tmp_path, *, interrupt_at_s: float | None):
    delivered: list[int] = []

    async def main():
        link = LocalLink()
        strap = VirtualStrap(link)
        await strap.start()
        backend, kwargs = ble_backend_on_link(link)
        clock = LoopClock()
        source = BleStrap(strap.name, clock=clock, backend=backend, backend_kwargs=kwargs, backoff_seed=3,
                          scan_timeout_s=10.0, connect_timeout_s=20.0)
        plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="live")
        interrupt = asyncio.Event()

        async def script() -> None:
            await strap.wait_subscribed()
            for _ in range(8):  # beats, then out of range for good at ~8 s
                if await strap.send_rr([1024]):
                    delivered.append(1024)
                await clock.sleep(1.0)
            await strap.go_out_of_range()
            if interrupt_at_s is not None:
                await clock.sleep(interrupt_at_s - clock.monotonic_s())
                interrupt.set()

        task = asyncio.create_task(script())
        try:
            with Store.open_home(tmp_path) as store:
                t0 = clock.monotonic_s()
                outcome = await run_session(source, plan, store, clock=clock, frame_interval_s=0.5,
                                            frame_clock=clock, interrupt=interrupt)
                ended_s = clock.monotonic_s() - t0
                return outcome, ended_s, store.beats(outcome.session_id)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await close_backend(kwargs)
            await strap.close()

    outcome, ended_s, beats = run_virtual(main())
    return outcome, ended_s, beats, delivered


def test_the_protocol_end_cancels_a_pending_scan(tmp_path):
    outcome, ended_s, beats, delivered = _run(tmp_path, interrupt_at_s=None)
    assert outcome.end_reason == "finished" and outcome.status == "complete"
    assert PROTOCOL.total_s <= ended_s <= PROTOCOL.total_s + 1.0
    assert [b.rr_ticks_1024 for b in beats] == delivered


def test_ctrl_c_while_out_of_range_ends_within_a_second(tmp_path):
    outcome, ended_s, beats, delivered = _run(tmp_path, interrupt_at_s=14.0)
    assert outcome.end_reason == "interrupted"
    assert 13.9 <= ended_s <= 15.0
    assert [b.rr_ticks_1024 for b in beats] == delivered

"""A whole recorded session survives what straps and radios do to it.

The production path end to end: virtual strap -> in-process bumble link -> bumble backend -> bleak
-> BleStrap -> live runner -> pipeline -> a real SQLite file. The strap drops the link, walks out of
range for longer than the reconnection backoff, loses skin contact, sends bursts, and sends
malformed payloads mixed with good ones. The session must go on to the end; every good beat
delivered must be stored exactly once and in order; every fault must be an event.

Runs on the virtual-time event loop (no sleeping; minutes of session in well under a second).
"""

from __future__ import annotations

import asyncio
import random

import pytest
from bumble.link import LocalLink

from biofeedback.practices import Protocol, get_practice
from devices.ble_stack import ble_backend_on_link, close_backend
from devices.ble_strap import BleStrap
from devices.bumble_backend.virtual_time import run_virtual
from devices.clock import LoopClock
from devices.virtual_strap import VirtualStrap, heart_rate_payload
from sessions.live import SessionPlan, run_session
from sessions.store import Store

pytestmark = pytest.mark.ble

PROTOCOL = Protocol(baseline_s=40, practice_s=80, recovery_s=40)
MALFORMED = [b"", b"\x10", b"\x11\x3c", b"\x18\x3c\x01", b"\x10\x3c\x00\x04\x01"]  # empty, truncated, odd byte


async def _strap_script(strap: VirtualStrap, clock: LoopClock, rng: random.Random, log: dict) -> None:
    """About one notification a second with 1-2 RR values, and the faults at set times."""
    await strap.wait_subscribed()
    t0 = clock.monotonic_s()
    faults = {10: "drop", 25: "out_of_range", 45: "contact", 60: "burst", 75: "malformed", 90: "drop"}
    t = 0.0
    second = 0
    while t < PROTOCOL.total_s - 2:
        second += 1
        ticks = [rng.randint(800, 1100) for _ in range(rng.choice((1, 1, 2)))]
        t += sum(ticks) / 1024
        await clock.sleep(t0 + t - clock.monotonic_s())
        fault = faults.pop(second, None)
        if fault == "drop":
            log["faults"].append(fault)
            await strap.drop_link()
        elif fault == "out_of_range":  # gone for 12 s: longer than the first backoff delays
            log["faults"].append(fault)
            await strap.go_out_of_range()
            await clock.sleep(12.0)
            t += 12.0
            strap.come_back()
        elif fault == "contact":  # 4 notifications without skin contact, no RR
            log["faults"].append(fault)
            for _ in range(4):
                if await strap.notify(heart_rate_payload(0, (), contact=False)):
                    log["contact_lost_sent"] += 1
                await clock.sleep(1.0)
                t += 1.0
        elif fault == "burst":  # 5 notifications held back by the phone's stack, delivered at once
            log["faults"].append(fault)
            burst = [[rng.randint(800, 1100)] for _ in range(5)]
            sent = [await strap.notify(heart_rate_payload(60, b)) for b in burst]
            log["delivered"] += [tick for b, ok in zip(burst, sent) if ok for tick in b]
            t += sum(sum(b) for b in burst) / 1024
        elif fault == "malformed":
            log["faults"].append(fault)
            for payload in MALFORMED:
                if await strap.notify(payload):
                    log["malformed_sent"] += 1
        if await strap.send_rr(ticks):
            log["delivered"] += ticks


def test_a_session_survives_dropouts_range_contact_bursts_and_garbage(tmp_path):
    log: dict = {"delivered": [], "faults": [], "malformed_sent": 0, "contact_lost_sent": 0}

    async def main():
        link = LocalLink()
        strap = VirtualStrap(link)
        await strap.start()
        backend, kwargs = ble_backend_on_link(link)
        clock = LoopClock()
        source = BleStrap(strap.name, clock=clock, backend=backend, backend_kwargs=kwargs, backoff_seed=3)
        plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="live")
        script = asyncio.create_task(_strap_script(strap, clock, random.Random(5), log))
        try:
            with Store.open_home(tmp_path) as store:
                outcome = await run_session(source, plan, store, clock=clock, frame_interval_s=0.5,
                                            frame_clock=clock)
                return outcome, store.beats(outcome.session_id), store.events(outcome.session_id), \
                    store.gaps(outcome.session_id), store.get_session(outcome.session_id)
        finally:
            script.cancel()
            await asyncio.gather(script, return_exceptions=True)
            await close_backend(kwargs)
            await strap.close()

    outcome, beats, events, gaps, info = run_virtual(main())
    assert log["faults"] == ["drop", "out_of_range", "contact", "burst", "malformed", "drop"]
    # The session went on to the end of its protocol and was kept.
    assert outcome.status == "complete" and outcome.end_reason == "finished" and info.status == "complete"
    # Every good beat delivered is stored exactly once, in order, with its raw ticks.
    assert [b.rr_ticks_1024 for b in beats] == log["delivered"]
    assert [b.seq for b in beats] == list(range(len(beats)))
    assert all(b.rr_ms == b.rr_ticks_1024 * 1000 / 1024 for b in beats)
    assert all(later.t_s > earlier.t_s for earlier, later in zip(beats, beats[1:]))
    # Every fault is an event.
    kinds = [e.kind for e in events]
    assert kinds.count("disconnected") == 3  # two drops and the range loss
    assert kinds.count("connected") == 4
    assert kinds.count("reconnecting") >= 3
    assert kinds.count("malformed_payload") == log["malformed_sent"] == len(MALFORMED)
    assert {e.data["payload_hex"] for e in events if e.kind == "malformed_payload"} == {p.hex() for p in MALFORMED}
    assert kinds.count("contact_lost") == 1 and kinds.count("contact_regained") == 1
    assert sum(g.gap.reason == "disconnect" for g in gaps) == 3
    assert kinds.count("gap") == len(gaps)

"""The virtual strap's own behaviour (the payloads it builds, what it does without a client)."""

from __future__ import annotations

import pytest
from bumble.link import LocalLink

from devices.bumble_backend.virtual_time import run_virtual
from devices.clock import VirtualClock
from devices.hrm_parser import parse_heart_rate_measurement
from devices.virtual_strap import VirtualStrap, heart_rate_payload, rr_schedule


@pytest.mark.parametrize(
    ("kwargs", "expected_hex"),
    [
        ({"hr_bpm": 60}, "063c"),  # contact supported + detected, uint8 HR
        ({"hr_bpm": 60, "contact": None}, "003c"),
        ({"hr_bpm": 60, "contact": False}, "043c"),
        ({"hr_bpm": 300, "uint16": True, "contact": None}, "012c01"),
        ({"hr_bpm": 78, "rr_ticks_1024": [722, 712], "contact": None}, "104ed202c802"),
        ({"hr_bpm": 70, "energy_expended_kj": 513, "contact": None}, "08460102"),
    ],
)
def test_payload_layout_follows_the_heart_rate_service_spec(kwargs: dict, expected_hex: str) -> None:
    hr = kwargs.pop("hr_bpm")
    assert heart_rate_payload(hr, **kwargs).hex() == expected_hex


def test_payloads_round_trip_through_the_parser() -> None:
    payload = heart_rate_payload(301, [1, 1024, 65535], contact=False, energy_expended_kj=7, uint16=True)
    m = parse_heart_rate_measurement(payload)
    assert (m.hr_bpm, m.rr_ticks_1024, m.energy_expended_kj) == (301, (1, 1024, 65535), 7)
    assert (m.contact_supported, m.contact_detected) == (True, False)


def test_rr_schedule_sends_each_notification_at_its_last_beat() -> None:
    schedule = rr_schedule([512, 512, 1024, 2048], per_notification=2, start_s=10.0)
    assert [t for t, _ in schedule] == [11.0, 14.0]
    assert [parse_heart_rate_measurement(p).rr_ticks_1024 for _, p in schedule] == [(512, 512), (1024, 2048)]


def test_without_a_subscribed_client_notifications_are_dropped_like_on_hardware() -> None:
    async def main() -> None:
        async with VirtualStrap(LocalLink()) as strap:
            assert not strap.subscribed
            assert await strap.notify(heart_rate_payload(60, [1024])) is False
            clock = VirtualClock()
            assert await strap.play(rr_schedule([1024, 1024]), clock) == 0
            assert clock.monotonic_s() == 2.0  # play() waited on the injected clock
            assert (strap.sent, strap.dropped) == (0, 3)

    run_virtual(main())

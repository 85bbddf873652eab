"""Invariants of beat timing under any arrival pattern (bursts, stalls, disconnects)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat, Gap
from devices.beat_timing import BeatTimer
from devices.hrm_parser import HeartRateMeasurement

notification = st.tuples(
    st.floats(min_value=0.0, max_value=5.0),  # time since the previous arrival (0 = same instant: a burst)
    st.lists(st.integers(min_value=205, max_value=3000), max_size=4),  # RR ticks (300 down to 20 bpm)
    st.booleans(),  # a disconnect before this notification
)


@settings(max_examples=300, deadline=None)
@given(st.lists(notification, min_size=1, max_size=60))
def test_beat_times_strictly_increase_and_every_rr_comes_out_once_in_order(script):
    timer = BeatTimer()
    arrival = 0.0
    beats: list[Beat] = []
    sent: list[int] = []
    for delay, ticks, disconnect in script:
        arrival += delay
        if disconnect:
            timer.mark_disconnected(arrival)
        m = HeartRateMeasurement(hr_bpm=60, contact_supported=True, contact_detected=True,
                                 energy_expended_kj=None, rr_ticks_1024=tuple(ticks))
        for item in timer.push(arrival, m):
            if isinstance(item, Beat):
                beats.append(item)
            else:
                assert isinstance(item, Gap) and item.end_s >= item.start_s
        sent += ticks
    assert [b.rr_ticks_1024 for b in beats] == sent
    assert all(later.t_s > earlier.t_s for earlier, later in zip(beats, beats[1:]))
    assert all(b.arrival_s is not None and b.rr_ms == b.rr_ticks_1024 * 1000 / 1024 for b in beats)

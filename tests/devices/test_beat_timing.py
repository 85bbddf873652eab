"""Beat-time reconstruction from notifications (devices.beat_timing.BeatTimer).

A small strap model in this file produces the notifications: true beat times on the phone's clock,
a notification every second (the strap's own crystal, optionally off by some ppm) carrying the
beats detected since the previous one, delivered after a small latency. Knowing the truth lets the
tests check what was lost, what was invented and where the beats were put.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from biofeedback.beat import Beat, Gap
from devices.beat_timing import (
    LOST_NOTIFICATIONS,
    MAX_LAG_S,
    NOTIFICATION_PERIOD_S,
    BeatTimer,
)
from devices.hrm_parser import HeartRateMeasurement, parse_heart_rate_measurement


@dataclass(frozen=True)
class Sent:
    arrival_s: float
    ticks: tuple[int, ...]
    true_t_s: tuple[float, ...]


def strap(rr_ms, *, period_s=1.0, first_s=0.3, delay_s=0.15, latency_s=0.02, ppm=0.0) -> list[Sent]:
    """Notifications for beats with true intervals ``rr_ms``; the strap's crystal is ``ppm`` fast."""
    scale = 1.0 + ppm * 1e-6
    t = 0.0
    beats = []
    for r in rr_ms:
        t += r / 1000.0
        beats.append((t, max(1, round(r * scale * 1.024))))
    out: list[Sent] = []
    i = k = 0
    while i < len(beats):
        send = first_s + k * period_s / scale
        ticks, true_t = [], []
        while i < len(beats) and beats[i][0] + delay_s <= send:
            true_t.append(beats[i][0])
            ticks.append(beats[i][1])
            i += 1
        jitter = latency_s * (0.5 + 0.5 * math.sin(1.7 * k))  # deterministic, within [0, latency_s]
        out.append(Sent(send + jitter, tuple(ticks), tuple(true_t)))
        k += 1
    return out


def measurement(ticks, contact=True) -> HeartRateMeasurement:
    return HeartRateMeasurement(70, True, contact, None, tuple(ticks))


def run(sent, timer=None, skip=()) -> list[Beat | Gap]:
    timer = timer or BeatTimer()
    out: list[Beat | Gap] = []
    for k, s in enumerate(sent):
        if k in skip:
            continue
        out += timer.push(s.arrival_s, measurement(s.ticks))
    return out


def beats_of(items) -> list[Beat]:
    return [i for i in items if isinstance(i, Beat)]


def gaps_of(items) -> list[Gap]:
    return [i for i in items if isinstance(i, Gap)]


def rr_series(n, mean_ms=800.0, seed=0):
    rng = np.random.default_rng(seed)
    j = np.arange(n)
    return list(mean_ms + 90 * np.sin(2 * np.pi * 0.1 * j * mean_ms / 1000) + rng.normal(0, 25, n))


def test_back_dating_within_one_notification():
    timer = BeatTimer()
    items = timer.push(10.0, parse_heart_rate_measurement(bytes.fromhex("104ed202c802")))
    assert [b.t_s for b in items] == [10.0 - 712 / 1024, 10.0]
    assert [b.rr_ticks_1024 for b in items] == [722, 712]
    assert [b.rr_ms for b in items] == [705.078125, 695.3125]
    assert all(b.arrival_s == 10.0 and b.contact is None for b in items)


def test_continuous_stream_keeps_a_continuous_beat_clock():
    rr = rr_series(900)
    sent = strap(rr)
    timer = BeatTimer()
    items = run(sent, timer)
    beats = beats_of(items)
    assert not gaps_of(items)
    assert [b.rr_ticks_1024 for b in beats] == [t for s in sent for t in s.ticks]
    t = np.array([b.t_s for b in beats])
    arrival = np.array([b.arrival_s for b in beats])
    true_t = np.array([x for s in sent for x in s.true_t_s])
    assert np.all(np.diff(t) > 0)
    assert np.all(t <= arrival)
    # after the first few notifications the clock has found its floor: spacing equals RR exactly,
    # but for rare small steps that absorb latency jitter (20 ms) and tick rounding
    adjustment = np.abs(np.diff(t)[40:] - np.array([b.rr_ms for b in beats])[41:] / 1000)
    assert np.mean(adjustment > 1e-9) < 0.1
    assert adjustment.max() < 0.035
    # reconstructed times are the latest consistent with arrivals: late by the (constant) delay
    lateness = t - true_t
    assert lateness.min() >= -1e-9
    assert lateness[40:].max() - lateness[40:].min() < 0.05


@pytest.mark.parametrize("drop", [40, 57, 61, 88, 123])
def test_a_dropped_notification_gives_exactly_one_gap_of_the_right_size(drop):
    rr = rr_series(400)
    sent = strap(rr)
    assert sent[drop].ticks, "the dropped notification must carry beats"
    items = run(sent, skip={drop})
    beats = beats_of(items)
    gaps = gaps_of(items)
    assert len(gaps) == 1
    gap = gaps[0]
    assert gap.reason == LOST_NOTIFICATIONS
    # no beat invented, none lost beyond the dropped ones, order kept
    expected = [t for k, s in enumerate(sent) if k != drop for t in s.ticks]
    assert [b.rr_ticks_1024 for b in beats] == expected
    lost_s = sum(sent[drop].ticks) / 1024
    assert abs(gap.duration_s - lost_s) <= NOTIFICATION_PERIOD_S
    # the gap sits between two beats, no beat inside it, detected within a few notifications
    index = items.index(gap)
    assert isinstance(items[index - 1], Beat) and items[index - 1].t_s == gap.start_s
    assert items[index + 1].t_s - items[index + 1].rr_ms / 1000 == pytest.approx(gap.end_s)
    assert gap.end_s - sent[drop].arrival_s < 5.0
    t = [b.t_s for b in beats]
    assert all(b.t_s <= b.arrival_s for b in beats)
    assert all(x < y for x, y in zip(t, t[1:]))


def test_notifications_without_rr_values_change_nothing():
    rr = [1150.0] * 120  # 52 bpm: some one-second notifications carry no beat
    sent = strap(rr)
    assert sum(1 for s in sent if not s.ticks) > 10
    timer = BeatTimer()
    items = run(sent, timer)
    assert not gaps_of(items)
    assert len(beats_of(items)) == 120
    assert timer.stats.notifications == len(sent)
    assert BeatTimer().push(3.0, measurement(())) == []


def test_four_rr_values_in_one_notification():
    rr = [300.0 + 15.0 * math.sin(0.7 * j) for j in range(600)]  # 200 bpm: 3 or 4 beats a notification
    sent = strap(rr)
    assert max(len(s.ticks) for s in sent) == 4
    items = run(sent)
    beats = beats_of(items)
    assert not gaps_of(items) and len(beats) == 600
    four = next(s for s in sent if len(s.ticks) == 4)
    group = [b for b in beats if b.arrival_s == four.arrival_s]
    assert len(group) == 4
    gaps_in_group = np.diff([b.t_s for b in group]) - np.array([b.rr_ms for b in group[1:]]) / 1000
    assert np.all(np.abs(gaps_in_group) < 1e-9)  # back-dated by their own RR
    assert group[-1].t_s <= four.arrival_s


@pytest.mark.parametrize("ppm", [100.0, -100.0])
def test_clock_drift_of_100_ppm_over_an_hour_creates_no_false_gap(ppm):
    rr = rr_series(4600, mean_ms=60000 / 75, seed=5)  # about an hour
    sent = strap(rr, ppm=ppm)
    assert sent[-1].arrival_s > 3600
    timer = BeatTimer()
    items = run(sent, timer)
    beats = beats_of(items)
    assert not gaps_of(items)
    assert len(beats) == len(rr)
    lag = np.array([b.arrival_s - b.t_s for b in beats])
    assert lag.min() >= 0.0
    assert lag.max() < MAX_LAG_S
    # the drift (0.36 s over the hour) was absorbed, not left to accumulate
    assert timer.stats.pulled_back_s + timer.stats.crept_s > 0.3


def test_mark_disconnected_gives_a_gap_on_reconnect_and_re_anchors():
    timer = BeatTimer()
    assert timer.push(5.0, measurement((1024,)))[0].t_s == 5.0
    timer.mark_disconnected(5.5, "disconnect")
    assert timer.push(20.0, measurement(())) == []  # nothing to time: the gap waits for beats
    items = timer.push(21.0, measurement((1024, 512)))
    gap, b1, b2 = items
    assert gap == Gap(5.0, 19.5, "disconnect")
    assert (b1.t_s, b2.t_s) == (20.5, 21.0)
    assert timer.stats.gaps == 1


def test_disconnect_before_any_beat_gives_no_gap():
    timer = BeatTimer()
    timer.mark_disconnected(1.0)
    assert [type(i) for i in timer.push(2.0, measurement((1024,)))] == [Beat]


def test_burst_after_a_delay_keeps_beats_ordered_and_not_after_arrival():
    timer = BeatTimer()
    timer.push(1.0, measurement((1024,)))
    # three notifications held back by the BLE stack, delivered within a millisecond
    items = []
    for a in (3.9, 3.9005, 3.901):
        items += timer.push(a, measurement((1024,)))
    beats = beats_of(items)
    assert len(beats) == 3
    t = [b.t_s for b in beats]
    assert all(x < y for x, y in zip(t, t[1:]))
    assert all(b.t_s <= b.arrival_s for b in beats)


def test_contact_flag_is_carried_to_each_beat():
    timer = BeatTimer()
    assert [b.contact for b in timer.push(1.0, measurement((900, 950), contact=False))] == [False, False]


def test_arrival_going_backwards_is_a_programming_error():
    timer = BeatTimer()
    timer.push(2.0, measurement((1024,)))
    with pytest.raises(ValueError, match="backwards"):
        timer.push(1.0, measurement((1024,)))


@pytest.mark.shared_data
def test_real_polar_h10_arrivals(shared_data):
    """Arrival times and IBIs logged from a Polar H10 (IBIs rounded up to ms from ticks; rows of one
    notification share nearly the same arrival time; notifications without RR were not logged)."""
    data = np.loadtxt(shared_data / "real-strap" / "polar_h10_breathing_ibi.csv", delimiter=",")
    assert data.shape == (620, 2)
    notifications: list[tuple[float, list[float]]] = []
    for arrival, ibi in data:
        if notifications and arrival - notifications[-1][0] < 0.1:
            notifications[-1] = (float(arrival), notifications[-1][1] + [float(ibi)])
        else:
            notifications.append((float(arrival), [float(ibi)]))
    assert any(len(n[1]) == 2 for n in notifications)
    timer = BeatTimer()
    items: list[Beat | Gap] = []
    for arrival, ibis in notifications:
        items += timer.push_rr_ms(arrival, ibis)
    beats = beats_of(items)
    assert not gaps_of(items)
    assert [b.rr_ms for b in beats] == list(data[:, 1])
    t = [b.t_s for b in beats]
    assert all(x < y for x, y in zip(t, t[1:]))
    assert all(b.t_s <= b.arrival_s for b in beats)
    assert max(b.arrival_s - b.t_s for b in beats) < MAX_LAG_S

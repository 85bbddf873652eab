"""The seeded RR simulator, its HeartRateSource and its notification stream."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from biofeedback.beat import Beat, Gap
from devices.beat_timing import BeatTimer
from devices.clock import VirtualClock
from devices.hrm_parser import parse_heart_rate_measurement
from devices.simulator import (
    COMPENSATORY,
    ECTOPIC,
    MISSED,
    NORMAL,
    PROFILES,
    RRSimulator,
    SimulatorSource,
    iter_notifications,
    resonance_gain,
)
from biofeedback.events import Connected, ContactLost, ContactRegained, Disconnected
from devices.source import DeviceEvent, HeartRateSource

CONNECTED, CONTACT_LOST, CONTACT_REGAINED, DISCONNECTED = (
    Connected.KIND, ContactLost.KIND, ContactRegained.KIND, Disconnected.KIND)


def beats_for(sim: RRSimulator, seconds: float):
    out = []
    while sim.t_s < seconds:
        out.append(sim.next_beat())
    return out


def spectrum(t_s, rr_ms, fs=4.0):
    """Power spectrum of the RR series resampled at ``fs`` Hz (linear interpolation, mean removed)."""
    grid = np.arange(t_s[0], t_s[-1], 1.0 / fs)
    x = np.interp(grid, t_s, rr_ms)
    x = (x - x.mean()) * np.hanning(len(x))
    power = np.abs(np.fft.rfft(x)) ** 2
    return np.fft.rfftfreq(len(x), 1.0 / fs), power


def band_power(freq, power, lo, hi):
    return float(power[(freq >= lo) & (freq < hi)].sum())


def test_same_seed_gives_identical_beats_and_different_seeds_differ():
    a = beats_for(RRSimulator(7, "rest", ectopic_rate=0.02, missed_rate=0.01), 300)
    b = beats_for(RRSimulator(7, "rest", ectopic_rate=0.02, missed_rate=0.01), 300)
    c = beats_for(RRSimulator(8, "rest", ectopic_rate=0.02, missed_rate=0.01), 300)
    assert a == b
    assert [x.rr_ms for x in a[:50]] != [x.rr_ms for x in c[:50]]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_hr_lies_in_the_profile_range(profile, seed):
    beats = beats_for(RRSimulator(seed, profile), 300)
    mean_hr = 60000.0 / np.mean([b.rr_ms for b in beats])
    lo, hi = PROFILES[profile].hr_range_bpm
    assert lo <= mean_hr <= hi
    assert all(300.0 <= b.rr_ms <= 2000.0 for b in beats)


def test_profiles_differ_in_variability():
    def rmssd(profile):
        rr = np.array([b.rr_ms for b in beats_for(RRSimulator(3, profile), 300)])
        return float(np.sqrt(np.mean(np.diff(rr) ** 2)))

    assert rmssd("anxious") < rmssd("rest") < rmssd("athlete")


def test_resonance_gain_peaks_at_a_tenth_of_a_hertz():
    f = np.linspace(0.02, 0.5, 481)
    gains = [resonance_gain(x) for x in f]
    assert f[int(np.argmax(gains))] == pytest.approx(0.1)
    assert resonance_gain(0.1) / resonance_gain(0.25) > 2.5


@pytest.mark.parametrize("breaths_per_min", [6.0, 9.0])
def test_rsa_spectral_peak_follows_the_breathing(breaths_per_min):
    beats = beats_for(RRSimulator(11, "rest", breathing=breaths_per_min), 600)
    freq, power = spectrum(np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats]))
    band = (freq > 0.04) & (freq < 0.4)
    peak = freq[band][np.argmax(power[band])]
    assert peak == pytest.approx(breaths_per_min / 60.0, abs=0.01)


def test_rsa_is_largest_when_breathing_at_resonance():
    def rsa_power(bpm):
        beats = beats_for(RRSimulator(5, "rest", breathing=bpm), 600)
        freq, power = spectrum(np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats]))
        f = bpm / 60.0
        return band_power(freq, power, f - 0.01, f + 0.01)

    assert rsa_power(6.0) > 3 * rsa_power(15.0)


def test_a_phase_function_drives_the_breathing_like_a_rate():
    by_rate = beats_for(RRSimulator(4, "rest", breathing=6.0), 120)
    by_phase = beats_for(RRSimulator(4, "rest", breathing=lambda t: (t / 10.0) % 1.0), 120)
    assert [b.rr_ms for b in by_phase] == pytest.approx([b.rr_ms for b in by_rate], abs=1e-6)


def test_practice_lowers_hr_and_raises_rmssd_with_minute_time_constants():
    start = 300.0
    sim = RRSimulator(
        9,
        "rest",
        breathing=lambda t: (t * 14 / 60) % 1.0 if t < start else ((t - start) / 10.0) % 1.0,
        practice_active=lambda t: t >= start,
    )
    beats = beats_for(sim, start + 600)
    t = np.array([b.t_s for b in beats])
    rr = np.array([b.rr_ms for b in beats])

    def hr_and_rmssd(lo, hi):
        r = rr[(t > lo) & (t <= hi)]
        return 60000.0 / r.mean(), float(np.sqrt(np.mean(np.diff(r) ** 2)))

    hr_base, rmssd_base = hr_and_rmssd(0, start)
    hr_late, rmssd_late = hr_and_rmssd(start + 300, start + 600)
    assert 2.0 <= hr_base - hr_late <= 8.0  # "a few bpm"
    assert rmssd_late > 1.3 * rmssd_base
    # first-order response: about 63 % of the way after one time constant, not instantaneous
    tau = PROFILES["rest"].relax_tau_s
    sim2 = RRSimulator(9, "rest", practice_active=lambda t: True)
    beats_for(sim2, tau)
    assert 0.55 < sim2.relaxation < 0.72


def test_ectopic_and_missed_beats_at_their_set_rates():
    sim = RRSimulator(21, "rest", ectopic_rate=0.03, missed_rate=0.01)
    beats = [sim.next_beat() for _ in range(6000)]
    labels = [b.label for b in beats]
    n_ectopic = labels.count(ECTOPIC)
    n_missed = labels.count(MISSED)
    # binomial: expected ~ 0.03 * 6000 * (1 - share of compensatory beats) ~ 175, sd ~ 13
    assert 130 <= n_ectopic <= 220
    assert 35 <= n_missed <= 90
    for i, b in enumerate(beats[:-1]):
        if b.label == ECTOPIC:
            assert beats[i + 1].label == COMPENSATORY
            assert beats[i + 1].rr_ms > b.rr_ms
    normal = np.median([b.rr_ms for b in beats if b.label == NORMAL])
    assert np.median([b.rr_ms for b in beats if b.label == MISSED]) == pytest.approx(2 * normal, rel=0.15)
    assert np.median([b.rr_ms for b in beats if b.label == ECTOPIC]) < 0.8 * normal


def test_quantised_beats_carry_ticks_and_exact_times():
    sim = RRSimulator(2, "athlete", quantise_ticks=True)
    beats = [sim.next_beat() for _ in range(200)]
    assert all(b.rr_ticks_1024 is not None and b.rr_ms == b.rr_ticks_1024 * 1000 / 1024 for b in beats)
    assert beats[-1].t_s == pytest.approx(sum(b.rr_ms for b in beats) / 1000, abs=1e-9)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown simulator profile"):
        RRSimulator(0, "sleepy")
    with pytest.raises(ValueError, match="ectopic_rate"):
        RRSimulator(0, ectopic_rate=0.7)


async def collect(source):
    items = []
    async with source:
        async for item in source.stream():
            items.append(item)
    return items


def test_simulator_source_runs_ten_minutes_on_a_virtual_clock():
    clock = VirtualClock()
    source = SimulatorSource.from_profile(1, "rest", clock=clock, duration_s=600.0)
    assert isinstance(source, HeartRateSource)
    assert source.info.kind == "simulator"
    items = asyncio.run(collect(source))
    assert clock.monotonic_s() == pytest.approx(600.0)  # simulated time, no real waiting
    beats = [i for i in items if isinstance(i, Beat)]
    assert isinstance(items[0], DeviceEvent) and items[0].kind == CONNECTED
    assert isinstance(items[-1], DeviceEvent) and items[-1].kind == DISCONNECTED
    assert 600 < len(beats) < 760
    assert beats[-1].t_s <= 600.0
    assert all(b.rr_ticks_1024 is not None and b.arrival_s == b.t_s for b in beats)
    t = np.array([b.t_s for b in beats])
    rr = np.array([b.rr_ms for b in beats])
    assert np.allclose(np.diff(t), rr[1:] / 1000, atol=1e-9)
    # the same as the pure generator with the same seed
    sim = RRSimulator(1, "rest", quantise_ticks=True)
    assert [b.rr_ms for b in beats] == [sim.next_beat().rr_ms for _ in beats]


def test_beats_per_turn_gives_the_same_items_and_clock_readings_in_fewer_loop_turns():
    """--speed max hands out several beats per turn of the event loop: the same stream, the same
    clock readings at every item, and another task still runs every ``beats_per_turn`` beats."""

    async def run(beats_per_turn: int) -> tuple[list, list[float], int]:
        clock = VirtualClock()
        source = SimulatorSource.from_profile(4, "rest", clock=clock, duration_s=300.0, contact_loss_per_hour=30.0,
                                              ectopic_rate=0.01)
        source.beats_per_turn = beats_per_turn
        turns = 0
        done = False

        async def other_task() -> None:  # counts the loop turns it gets while the stream runs
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other_task())
        items, readings = [], []
        async for item in source.stream():
            items.append(item)
            readings.append(clock.monotonic_s())
        done = True
        await task
        return items, readings, turns

    one = asyncio.run(run(1))
    many = asyncio.run(run(16))
    assert many[0] == one[0] and many[1] == one[1]
    n_beats = sum(isinstance(i, Beat) for i in one[0])
    assert one[2] >= n_beats > 300
    assert n_beats / 16 - 2 <= many[2] <= n_beats / 16 + 5  # yet the other task still runs
    with pytest.raises(ValueError, match="beats_per_turn"):
        SimulatorSource(RRSimulator(1), clock=VirtualClock(), beats_per_turn=0)


def test_simulator_source_reports_contact_loss_as_events_and_gaps():
    source = SimulatorSource.from_profile(
        3, "rest", clock=VirtualClock(), duration_s=1200.0, contact_loss_per_hour=20.0, contact_loss_s=6.0
    )
    items = asyncio.run(collect(source))
    kinds = [i.kind for i in items if isinstance(i, DeviceEvent)]
    gaps = [i for i in items if isinstance(i, Gap)]
    assert kinds.count(CONTACT_LOST) >= 2
    assert kinds.count(CONTACT_REGAINED) >= len(gaps) >= kinds.count(CONTACT_LOST) - 1
    assert all(g.reason == "contact_lost" and 2.0 < g.duration_s < 12.0 for g in gaps)
    beats = [i for i in items if isinstance(i, Beat)]
    for g in gaps:
        assert not any(g.start_s < b.t_s - b.rr_ms / 1000 < g.end_s - 1e-9 for b in beats)
    times = [i.t_s for i in items if not isinstance(i, Gap)]
    assert times == sorted(times)
    beat_times = {b.t_s for b in beats}
    for k, item in enumerate(items):
        if isinstance(item, Gap):  # from the last beat before to the start of the next interval
            assert item.start_s in beat_times
            nxt = items[k + 1]
            assert isinstance(nxt, Beat) and nxt.t_s - nxt.rr_ms / 1000 == pytest.approx(item.end_s)


def test_stop_ends_the_stream():
    source = SimulatorSource.from_profile(1, clock=VirtualClock())

    async def take():
        n = 0
        async with source:
            async for item in source.stream():
                if isinstance(item, Beat):
                    n += 1
                    if n == 30:
                        source.stop()
            return n, item

    n, last = asyncio.run(take())
    assert n == 30 and last.kind == DISCONNECTED and last.data["reason"] == "stopped"


def test_notifications_carry_every_beat_and_time_back_correctly():
    beats = beats_for(RRSimulator(6, "rest", quantise_ticks=True), 300)
    notes = list(iter_notifications(RRSimulator(6, "rest", quantise_ticks=True), duration_s=300.0))
    arrivals = [n.arrival_s for n in notes]
    assert arrivals == sorted(arrivals)
    assert np.diff(arrivals).max() < 1.1
    parsed = [parse_heart_rate_measurement(n.payload) for n in notes]
    sent_ticks = [t for m in parsed for t in m.rr_ticks_1024]
    assert sent_ticks == [b.rr_ticks_1024 for b in beats][: len(sent_ticks)]
    assert len(sent_ticks) >= len(beats) - 2
    assert max(len(m.rr_ticks_1024) for m in parsed) <= 4
    assert all(m.contact_detected for m in parsed)
    timer = BeatTimer()
    timed = [x for n, m in zip(notes, parsed) for x in timer.push(n.arrival_s, m)]
    assert all(isinstance(x, Beat) and x.t_s <= x.arrival_s for x in timed)
    errors = np.array([x.t_s - b.t_s for x, b in zip(timed, beats)])
    assert errors.min() >= 0.0 and errors[60:].max() < 0.25  # late by detection delay + latency


def test_notifications_during_contact_loss_have_no_rr_and_contact_clear():
    sim = RRSimulator(3, "rest", contact_loss_per_hour=60.0, contact_loss_s=8.0)
    parsed = [parse_heart_rate_measurement(n.payload) for n in iter_notifications(sim, duration_s=600.0)]
    lost = [m for m in parsed if m.contact_detected is False]
    assert lost and all(not m.rr_ticks_1024 for m in lost)


def test_beats_until_splits_the_stream_without_losing_a_beat():
    whole = beats_for(RRSimulator(12, "anxious"), 60)
    sim = RRSimulator(12, "anxious")
    parts = sim.beats_until(20.0) + sim.beats_until(40.0) + sim.beats_until(whole[-1].t_s)
    assert parts == whole


# -- a person with their own resonance rate (resonance assessment) ----------------------------------

def test_resonance_response_peaks_at_the_persons_rate_with_phase_lead_below_and_lag_above():
    from devices.simulator import RESONANCE_PEAK_GAIN, resonance_response

    f0 = 5.0 / 60
    gains = {bpm: resonance_response(bpm / 60, f0)[0] for bpm in (4.0, 4.5, 5.0, 5.5, 6.0, 15.0)}
    assert gains[5.0] == pytest.approx(RESONANCE_PEAK_GAIN)
    assert gains[4.5] < gains[5.0] > gains[5.5] and gains[4.0] < gains[4.5] and gains[6.0] < gains[5.5]
    assert 1.0 < gains[15.0] < 1.2  # far from resonance: the ordinary RSA
    assert resonance_response(4.5 / 60, f0)[1] > 0 > resonance_response(5.5 / 60, f0)[1]  # lead below, lag above
    assert resonance_response(f0, f0)[1] == 0.0


def test_a_resonance_person_is_seeded_and_without_one_the_simulator_is_unchanged():
    a = RRSimulator(5, resonance_bpm=5.0, breathing=5.0).beats_until(120.0)
    b = RRSimulator(5, resonance_bpm=5.0, breathing=5.0).beats_until(120.0)
    assert a == b
    plain = RRSimulator(5, breathing=5.0).beats_until(120.0)
    explicit = RRSimulator(5, breathing=5.0, resonance_bpm=None, noise_scale=1.0).beats_until(120.0)
    assert plain == explicit and plain != a
    with pytest.raises(ValueError):
        RRSimulator(5, resonance_bpm=0.5)
    with pytest.raises(ValueError):
        RRSimulator(5, noise_scale=-1.0)


def test_paced_at_the_persons_resonance_the_heart_rate_swings_most():
    def swing(rate_bpm: float) -> float:
        beats = RRSimulator(3, resonance_bpm=5.5, breathing=rate_bpm).beats_until(300.0)
        return float(np.std([b.rr_ms for b in beats]))

    assert swing(5.5) > swing(4.5) and swing(5.5) > swing(6.5) and swing(6.5) > swing(12.0)

"""The faster simulator and source loop give the beats of the code before them, bit for bit.

``_Reference`` is a frozen copy of the generator as it was on main 93619ee (one scalar draw at a
time, ``SimulatedBeat`` objects); the digests below were recorded from main 93619ee with
:func:`_stream_digest` (the items of ``SimulatorSource.stream`` and the clock's reading at each).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import pickle
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat, Gap
from biofeedback.frozen import positional_builder
from biofeedback.practices import Practice, Protocol, get_practice
from devices.clock import VirtualClock
from devices.hrm_parser import TICKS_PER_SECOND
from devices.simulator import (
    COMPENSATORY,
    ECTOPIC,
    MISSED,
    NORMAL,
    PROFILES,
    Profile,
    RRSimulator,
    SimulatedBeat,
    SimulatorSource,
    resonance_gain,
    resonance_response,
    _draws,
)
from sessions.simulated import breathing_phase_for, practising_for, simulated_source

DRIFT_TAU_S, MAYER_PHASE_DIFFUSION, RR_MIN_MS, RR_MAX_MS = 40.0, 0.3, 300.0, 2000.0


class _Reference:
    """main 93619ee's RRSimulator model, one scalar numpy draw at a time (the oracle)."""

    def __init__(self, seed: int, profile: Profile, *, breathing: float | Callable[[float], float] | None = None,
                 practice_active: Callable[[float], bool] | None = None, ectopic_rate: float = 0.0,
                 missed_rate: float = 0.0, contact_loss_per_hour: float = 0.0, contact_loss_s: float = 8.0,
                 quantise_ticks: bool = False, resonance_bpm: float | None = None, noise_scale: float = 1.0):
        self.profile = profile
        self.ectopic_rate, self.missed_rate = ectopic_rate, missed_rate
        self.contact_loss_per_hour, self.contact_loss_s = contact_loss_per_hour, contact_loss_s
        self.quantise_ticks = quantise_ticks
        self._resonance_hz = None if resonance_bpm is None else float(resonance_bpm) / 60.0
        self._mayer_hz = 0.1 if self._resonance_hz is None else self._resonance_hz
        self._noise_scale = float(noise_scale)
        self._practice = practice_active
        if breathing is None:
            breathing = profile.breaths_per_min
        if callable(breathing):
            self._phase = breathing
            self._fixed_hz: float | None = None
        else:
            hz = float(breathing) / 60.0
            self._fixed_hz = hz
            self._phase = lambda t: (t * hz) % 1.0
        phys, ect, miss, contact = np.random.SeedSequence(seed).spawn(4)
        self._rng = np.random.Generator(np.random.PCG64(phys))
        self._rng_ectopic = np.random.Generator(np.random.PCG64(ect))
        self._rng_missed = np.random.Generator(np.random.PCG64(miss))
        self._rng_contact = np.random.Generator(np.random.PCG64(contact))
        self._t_s = 0.0
        self._relax = 0.0
        self._drift_ms = float(self._rng.normal(0.0, profile.drift_sd_ms))
        self._mayer_phase = float(self._rng.uniform(0.0, 2 * math.pi))
        self._breath_hz = self._fixed_hz if self._fixed_hz is not None else self._instant_hz(0.0)
        self._pending_compensatory_ms: float | None = None
        self._contact_until_s = -1.0
        self._last_contact_check_s = 0.0

    def next_beat(self) -> SimulatedBeat:
        t = self._t_s
        if self._pending_compensatory_ms is not None:
            rr = self._pending_compensatory_ms
            self._pending_compensatory_ms = None
            return self._emit(rr, COMPENSATORY)
        rr = self._sinus_rr_ms(t)
        if self.ectopic_rate and float(self._rng_ectopic.random()) < self.ectopic_rate:
            premature = rr * float(self._rng_ectopic.uniform(0.55, 0.75))
            self._pending_compensatory_ms = rr + self._sinus_rr_ms(t + rr / 1000.0) - premature
            return self._emit(premature, ECTOPIC)
        if self.missed_rate and float(self._rng_missed.random()) < self.missed_rate:
            return self._emit(rr + self._sinus_rr_ms(t + rr / 1000.0), MISSED)
        return self._emit(rr, NORMAL)

    def _instant_hz(self, t: float) -> float:
        dt = 0.25
        dphi = (self._phase(t + dt) - self._phase(t)) % 1.0
        return dphi / dt

    def _sinus_rr_ms(self, t: float) -> float:
        p = self.profile
        x = self._relax
        hr0 = p.mean_hr_bpm - p.relax_hr_drop_bpm * x
        vagal = 1.0 + p.relax_vagal_gain * x
        if self._fixed_hz is None:
            self._breath_hz += (self._instant_hz(t) - self._breath_hz) * 0.1
        if self._resonance_hz is None:
            gain, lead = resonance_gain(self._breath_hz), 0.0
        else:
            gain, lead = resonance_response(self._breath_hz, self._resonance_hz)
        t_rsa = t if self._resonance_hz is None else t + 30.0 / hr0
        rsa = p.rsa_amplitude_ms * gain * vagal * math.cos(2 * math.pi * self._phase(t_rsa) + lead)
        mayer = p.mayer_amplitude_ms * (1.0 - 0.3 * x) * math.sin(2 * math.pi * self._mayer_hz * t + self._mayer_phase)
        noise = float(self._rng.normal(0.0, p.noise_sd_ms)) * vagal
        if self._noise_scale != 1.0:
            noise *= self._noise_scale
        rr = 60000.0 / hr0 + self._drift_ms + rsa + mayer + noise
        rr = min(RR_MAX_MS, max(RR_MIN_MS, rr))
        dt = rr / 1000.0
        a = math.exp(-dt / DRIFT_TAU_S)
        self._drift_ms = self._drift_ms * a + float(self._rng.normal(0.0, p.drift_sd_ms * math.sqrt(1.0 - a * a)))
        self._mayer_phase += float(self._rng.normal(0.0, MAYER_PHASE_DIFFUSION * math.sqrt(dt)))
        target = 1.0 if (self._practice is not None and self._practice(t)) else 0.0
        self._relax += (target - self._relax) * (1.0 - math.exp(-dt / p.relax_tau_s))
        return rr

    def _emit(self, rr_ms: float, label: str) -> SimulatedBeat:
        ticks = None
        if self.quantise_ticks:
            ticks = max(1, int(round(rr_ms * TICKS_PER_SECOND / 1000.0)))
            rr_ms = ticks * 1000.0 / TICKS_PER_SECOND
        self._t_s += rr_ms / 1000.0
        contact = self._contact_at(self._t_s)
        return SimulatedBeat(t_s=self._t_s, rr_ms=rr_ms, label=label, contact=contact, rr_ticks_1024=ticks)

    def _contact_at(self, t: float) -> bool:
        if t < self._contact_until_s:
            return False
        if self.contact_loss_per_hour:
            dt = max(0.0, t - self._last_contact_check_s)
            self._last_contact_check_s = t
            p = 1.0 - math.exp(-self.contact_loss_per_hour / 3600.0 * dt)
            if self._rng_contact.random() < p:
                self._contact_until_s = t + self.contact_loss_s * float(self._rng_contact.uniform(0.5, 1.5))
                return False
        return True


def _old_breathing_phase_for(practice: Practice, protocol: Protocol, spontaneous_bpm: float) -> Callable[[float], float]:
    """main 93619ee's sessions.simulated.breathing_phase_for."""
    p0, p1 = protocol.practice_start_s, protocol.recovery_start_s
    spontaneous_hz = spontaneous_bpm / 60.0
    pattern = practice.pattern
    schedule = practice.schedule

    def phase(t_s: float) -> float:
        if schedule is not None and p0 <= t_s < p1:
            return schedule.phase_at(t_s - p0)
        if pattern is not None and p0 <= t_s < p1:
            return ((t_s - p0) % pattern.period_s) / pattern.period_s
        return (t_s * spontaneous_hz) % 1.0

    return phase


def _assessment_practice(protocol_name: str) -> tuple[Practice, Protocol]:
    from biofeedback.practices.assessment import assessment_practice, assessment_protocol, build_schedule

    schedule = build_schedule({"protocol": protocol_name})
    return assessment_practice(schedule), assessment_protocol(schedule, 60.0)


PRACTICES = ("resonance", "4-7-8", "box", "hand-on-heart", "self-compassion", "paced")
PROTOCOL = Protocol(baseline_s=120.0, practice_s=300.0, recovery_s=120.0)


def _practice(name: str) -> tuple[Practice, Protocol]:
    return _assessment_practice(name[7:]) if name.startswith("assess-") else (get_practice(name), PROTOCOL)


@st.composite
def _configs(draw: st.DrawFn) -> tuple[int, dict]:
    seed = draw(st.integers(0, 2**32 - 1))
    profile = PROFILES[draw(st.sampled_from(sorted(PROFILES)))]
    kw: dict = {}
    breathing = draw(st.sampled_from(["none", "rate", "practice"]))
    if breathing == "rate":
        kw["breathing"] = draw(st.floats(2.0, 30.0))
    elif breathing == "practice":  # the old closure for the old code, the new one for the new
        kw["breathing"] = draw(st.sampled_from(PRACTICES + ("assess-stepped", "assess-sliding")))
    if draw(st.booleans()):
        kw["practice_active"] = practising_for(PROTOCOL)
    if draw(st.booleans()):
        kw["ectopic_rate"] = draw(st.floats(0.0, 0.2))
        kw["missed_rate"] = draw(st.floats(0.0, 0.2))
    if draw(st.booleans()):
        kw["contact_loss_per_hour"] = draw(st.floats(0.0, 200.0))
        kw["contact_loss_s"] = draw(st.floats(0.5, 20.0))
    kw["quantise_ticks"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["resonance_bpm"] = draw(st.floats(1.0, 30.0))
    kw["noise_scale"] = draw(st.sampled_from([1.0, 0.0, 4.0, draw(st.floats(0.0, 10.0))]))
    return seed, {"profile": profile, **kw}


@settings(max_examples=60, deadline=None)
@given(_configs(), st.integers(1, 700))
def test_the_simulator_gives_the_beats_of_the_code_before_it(config: tuple[int, dict], n: int) -> None:
    seed, kw = config
    profile = kw.pop("profile")
    old_kw, new_kw = dict(kw), dict(kw)
    if isinstance(kw.get("breathing"), str):
        practice, protocol = _practice(kw["breathing"])
        old_kw["breathing"] = _old_breathing_phase_for(practice, protocol, profile.breaths_per_min)
        new_kw["breathing"] = breathing_phase_for(practice, protocol, profile.breaths_per_min)
    old = _Reference(seed, profile, **old_kw)
    new = RRSimulator(seed, profile, **new_kw)
    for _ in range(n):
        a, b = old.next_beat(), new.next_beat()
        assert (a.t_s.hex(), a.rr_ms.hex(), a.label, a.contact, a.rr_ticks_1024) == \
               (b.t_s.hex(), b.rr_ms.hex(), b.label, b.contact, b.rr_ticks_1024)
        assert type(b) is SimulatedBeat and b == a


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PRACTICES + ("assess-stepped", "assess-sliding")), st.floats(2.0, 30.0),
       st.lists(st.floats(-10.0, 2000.0), min_size=1, max_size=30))
def test_the_practice_phase_closure_is_the_one_before_it(name: str, bpm: float, times: list[float]) -> None:
    practice, protocol = _practice(name)
    old, new = _old_breathing_phase_for(practice, protocol, bpm), breathing_phase_for(practice, protocol, bpm)
    edges = [protocol.practice_start_s, protocol.recovery_start_s]
    for t in times + edges + [math.nextafter(e, -math.inf) for e in edges]:
        assert old(t).hex() == new(t).hex()


@settings(max_examples=300, deadline=None)
@given(st.floats(0.0, 1e6), st.floats(-1e3, 1e6), st.floats(-1e3, 1e3))
def test_catch_up_is_advance_by_what_is_left(now_s: float, t_s: float, origin_s: float) -> None:
    a, b = VirtualClock(now_s), VirtualClock(now_s)
    a.advance(max(0.0, t_s - (a.monotonic_s() - origin_s)))
    b.catch_up(t_s, origin_s)
    assert a.monotonic_s().hex() == b.monotonic_s().hex()


def test_block_draws_are_the_scalar_draws_across_blocks() -> None:
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    draw = _draws(a.standard_normal, block=7)
    assert [draw() for _ in range(35)] == [float(b.standard_normal()) for _ in range(35)]
    assert a.bit_generator.state == b.bit_generator.state  # five whole blocks, no more
    first = draw()  # the next block is drawn when the one before is used up
    assert first == float(b.standard_normal()) and type(first) is float
    assert [draw() for _ in range(6)] == [float(b.standard_normal()) for _ in range(6)]
    assert a.bit_generator.state == b.bit_generator.state


def test_positional_builder_gives_the_constructors_objects() -> None:
    new_beat = positional_builder(Beat)
    assert new_beat is not Beat
    made, built = Beat(812.5, 3.25, 832, 3.25, True), new_beat(812.5, 3.25, 832, 3.25, True)
    assert type(built) is Beat and built == made and hash(built) == hash(made) and repr(built) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.rr_ms = 1.0  # type: ignore[misc]
    assert dataclasses.replace(built, rr_ms=1.0) == Beat(1.0, 3.25, 832, 3.25, True)
    assert pickle.loads(pickle.dumps(built)) == made and built.hr_bpm == made.hr_bpm
    assert positional_builder(SimulatedBeat)(1.0, 800.0, NORMAL, True, None) == SimulatedBeat(1.0, 800.0)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:  # its __init__ does more than store the fields: the class itself is used
        x: float

        def __post_init__(self) -> None:
            if self.x < 0:
                raise ValueError("x < 0")

    assert positional_builder(Checked) is Checked


def _stream_digest(practice: Practice, protocol: Protocol, seed: int, resonance_bpm: float | None,
                   beats_per_turn: int) -> str:
    clock = VirtualClock()
    source = simulated_source(practice, protocol, seed=seed, clock=clock, resonance_bpm=resonance_bpm,
                              beats_per_turn=beats_per_turn)
    h = hashlib.sha256()

    async def run() -> None:
        async for item in source.stream():
            if isinstance(item, Beat):
                assert item.arrival_s is not None
                h.update(f"B {item.rr_ms.hex()} {item.t_s.hex()} {item.rr_ticks_1024} {item.arrival_s.hex()} "
                         f"{item.contact}".encode())
            elif isinstance(item, Gap):
                h.update(f"G {item.start_s.hex()} {item.end_s.hex()} {item.reason}".encode())
            else:
                h.update(repr(item).encode())
            h.update(f" @{clock.monotonic_s().hex()}\n".encode())

    asyncio.run(run())
    return h.hexdigest()[:20]


#: (practice, seed, resonance_bpm, beats_per_turn) -> digest of the stream, recorded from main 93619ee
MAIN_DIGESTS = {
    ('resonance', 24, None, 32): '85aa6f06858b5f283a21',
    ('resonance', 24, None, 1): '85aa6f06858b5f283a21',
    ('resonance', 7, 5.0, 32): 'aebc582351a27536cb44',
    ('4-7-8', 24, None, 32): '075f83af5fdfd1fb630e',
    ('hand-on-heart', 1, 5.0, 32): '5df1b14a2495582ef26d',
    ('self-compassion', 7, None, 1): '6c02c93d0f276d62dc62',
    ('assess-stepped', 24, None, 32): '7b527a47ece7f5a5da7e',
    ('assess-sliding', 1, 4.8, 32): '5504a21b52adbef9429a',
}


@pytest.mark.parametrize("key", sorted(MAIN_DIGESTS, key=str))
def test_the_source_streams_the_items_of_the_code_before_it(key: tuple[str, int, float | None, int]) -> None:
    name, seed, resonance_bpm, beats_per_turn = key
    practice, protocol = _practice(name)
    assert _stream_digest(practice, protocol, seed, resonance_bpm, beats_per_turn) == MAIN_DIGESTS[key]


def test_a_subclass_with_its_own_next_beat_is_streamed_through_it() -> None:
    class Stretched(RRSimulator):  # its own next_beat: every interval 1 ms longer, times unchanged
        calls = 0

        def next_beat(self) -> SimulatedBeat:
            Stretched.calls += 1
            b = super().next_beat()
            return dataclasses.replace(b, rr_ms=b.rr_ms + 1.0)

    async def beats() -> list[Beat]:
        source = SimulatorSource(Stretched(1), clock=VirtualClock(), duration_s=30.0)
        return [item async for item in source.stream() if isinstance(item, Beat)]

    plain = [b for b in RRSimulator(1).beats_until(30.0)]
    got = asyncio.run(beats())
    assert Stretched.calls == len(got) + 1  # and the one beyond the end
    assert [b.rr_ms for b in got] == [b.rr_ms + 1.0 for b in plain]

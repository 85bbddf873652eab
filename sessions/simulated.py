"""A simulated person who follows a session plan: the source behind ``biofeedback demo``.

The simulator (:mod:`devices.simulator`) takes a breathing phase as a function of time and says
when the person is practising; here those come from the plan: spontaneous breathing at the
profile's rate during the rests, the pacer's rhythm during a breathing practice (the person
follows the pacer exactly), and the relaxation response switched on while the practice lasts.
"""

from __future__ import annotations

from collections.abc import Callable

from biofeedback.practices import Practice, Protocol
from devices.clock import Clock
from devices.simulator import PROFILES, RRSimulator, SimulatorSource

#: A few artifacts, as a real strap gives: 0.3 % premature beats, 0.1 % missed beats.
DEMO_ECTOPIC_RATE = 0.003
DEMO_MISSED_RATE = 0.001


def breathing_phase_for(practice: Practice, protocol: Protocol, spontaneous_bpm: float) -> Callable[[float], float]:
    """``phase(t_s) -> [0, 1)`` (0 = start of an inhalation) of a person following ``practice``:
    the practice's schedule or pacer pattern while it lasts (``practice_start_s <= t_s <
    recovery_start_s``), spontaneous breathing at ``spontaneous_bpm`` otherwise. The simulator calls it
    two or three times a beat: one closure per kind of practice, each with its constants bound."""
    p0, p1 = protocol.practice_start_s, protocol.recovery_start_s
    spontaneous_hz = spontaneous_bpm / 60.0
    pattern = practice.pattern
    schedule = practice.schedule

    if schedule is not None:
        schedule_phase = schedule.phase_at

        def phase(t_s: float) -> float:
            if p0 <= t_s < p1:
                return schedule_phase(t_s - p0)
            return (t_s * spontaneous_hz) % 1.0
    elif pattern is not None:
        period_s = pattern.period_s  # a frozen pattern: the same sum every time

        def phase(t_s: float) -> float:
            if p0 <= t_s < p1:
                return ((t_s - p0) % period_s) / period_s
            return (t_s * spontaneous_hz) % 1.0
    else:

        def phase(t_s: float) -> float:
            return (t_s * spontaneous_hz) % 1.0

    return phase


def practising_for(protocol: Protocol) -> Callable[[float], bool]:
    p0, p1 = protocol.practice_start_s, protocol.recovery_start_s
    return lambda t_s: p0 <= t_s < p1


def simulated_person(
    practice: Practice,
    protocol: Protocol,
    *,
    seed: int,
    profile: str = "rest",
    ectopic_rate: float = DEMO_ECTOPIC_RATE,
    missed_rate: float = DEMO_MISSED_RATE,
    contact_loss_per_hour: float = 0.0,
    resonance_bpm: float | None = None,
) -> RRSimulator:
    """The seeded simulator of a person doing this session (deterministic for a given seed).

    ``resonance_bpm``: the person resonates at this rate (see :class:`devices.simulator.RRSimulator`).
    During a resonance assessment (a practice with a ``schedule``) the person's relaxation response is
    off, so that only the breathing rate changes the heart-rate waves from step to step.
    """
    return RRSimulator(
        seed,
        profile,
        breathing=breathing_phase_for(practice, protocol, PROFILES[profile].breaths_per_min),
        practice_active=None if practice.schedule is not None else practising_for(protocol),
        resonance_bpm=resonance_bpm,
        ectopic_rate=ectopic_rate,
        missed_rate=missed_rate,
        contact_loss_per_hour=contact_loss_per_hour,
        quantise_ticks=True,
    )


def simulated_source(practice: Practice, protocol: Protocol, *, seed: int, clock: Clock,
                     profile: str = "rest", resonance_bpm: float | None = None,
                     beats_per_turn: int = 1) -> SimulatorSource:
    """A :class:`SimulatorSource` that streams the person's beats for the length of the session
    (``beats_per_turn``: see :class:`~devices.simulator.SimulatorSource`)."""
    sim = simulated_person(practice, protocol, seed=seed, profile=profile, resonance_bpm=resonance_bpm)
    return SimulatorSource(sim, clock=clock, duration_s=protocol.total_s, name=f"Simulator ({profile}, seed {seed})",
                           beats_per_turn=beats_per_turn)

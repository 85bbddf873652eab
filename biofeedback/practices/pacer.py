"""The breathing pacer as a pure function of time (no clock reads).

``breathing_state(pattern, t_s)`` says where in the breath a person following ``pattern`` is at
``t_s`` seconds after the pacer started: the phase, how far through it, how full the lungs are (for the
animation) and which breath this is. The runner passes the time; the same ``t_s`` always gives the same
state, so a replay shows exactly what the live screen showed. (Idea after OpenHRV's
``breathing_pattern(rate, t)``.)

Lung volume follows a half-cosine ease, ``v = (1 - cos(pi * p)) / 2`` while breathing in and
``v = (1 + cos(pi * p)) / 2`` while breathing out (``p`` = phase progress 0..1); it is 1 during the
hold after inhaling and 0 during the hold after exhaling, so it is continuous and stays in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from biofeedback.practices.pattern import BreathPattern

BreathPhase = Literal["inhale", "hold_in", "exhale", "hold_out"]

#: Phase order within one breath.
BREATH_PHASES: tuple[BreathPhase, ...] = ("inhale", "hold_in", "exhale", "hold_out")


@dataclass(frozen=True, slots=True)
class PacerState:
    """Where the pacer is at one moment.

    phase: ``"inhale"``, ``"hold_in"``, ``"exhale"`` or ``"hold_out"`` (zero-length holds never appear).
    phase_progress: 0 at the start of the phase, towards 1 at its end.
    lung_volume: 0 (empty) .. 1 (full), smooth (half-cosine ease), for the animation.
    breath_index: 0 for the first breath (``floor(t_s / period_s)``).
    seconds_left_in_phase: seconds until the next phase starts.
    phase_duration_s: the length of the current phase, seconds.
    """

    phase: BreathPhase
    phase_progress: float
    lung_volume: float
    breath_index: int
    seconds_left_in_phase: float
    phase_duration_s: float


def _durations(pattern: BreathPattern) -> tuple[tuple[BreathPhase, float], ...]:
    return (
        ("inhale", pattern.inhale_s),
        ("hold_in", pattern.hold_in_s),
        ("exhale", pattern.exhale_s),
        ("hold_out", pattern.hold_out_s),
    )


def breathing_state(pattern: BreathPattern, t_s: float) -> PacerState:
    """The pacer at ``t_s`` seconds after it started (any real ``t_s``; the pattern repeats every
    ``pattern.period_s``, so ``breathing_state(p, t + p.period_s)`` equals ``breathing_state(p, t)`` apart
    from ``breath_index + 1``)."""
    period = pattern.period_s
    breath_index = math.floor(t_s / period)
    within = t_s - breath_index * period
    # Guard against rounding putting `within` at or just beyond the period.
    if within >= period:
        breath_index += 1
        within -= period
    within = max(0.0, within)
    start = 0.0
    phases = [(name, d) for name, d in _durations(pattern) if d > 0]
    for i, (name, duration) in enumerate(phases):
        end = start + duration
        if within < end or i == len(phases) - 1:
            progress = min(1.0, max(0.0, (within - start) / duration))
            return PacerState(
                phase=name,
                phase_progress=progress,
                lung_volume=_volume(name, progress),
                breath_index=breath_index,
                seconds_left_in_phase=max(0.0, end - within),
                phase_duration_s=duration,
            )
        start = end
    raise AssertionError("unreachable: a pattern always has an inhale and an exhale")  # pragma: no cover


def _volume(phase: BreathPhase, progress: float) -> float:
    if phase == "inhale":
        return (1.0 - math.cos(math.pi * progress)) / 2.0
    if phase == "exhale":
        return (1.0 + math.cos(math.pi * progress)) / 2.0
    return 1.0 if phase == "hold_in" else 0.0


def breath_boundaries(pattern: BreathPattern, t0_s: float, t1_s: float) -> list[float]:
    """Onsets of breaths (starts of an inhale, ``k * period_s``) with ``t0_s <= t <= t1_s``, ascending.

    Consecutive onsets delimit one whole paced breath: the windows over which the RSA (peak-to-trough
    heart-rate difference per breath) is measured. Times are in the pacer's frame (0 = pacer start).
    """
    if t1_s < t0_s:
        return []
    period = pattern.period_s
    k0 = math.ceil(t0_s / period - 1e-12)
    k1 = math.floor(t1_s / period + 1e-12)
    return [k * period for k in range(k0, k1 + 1) if t0_s - 1e-9 <= k * period <= t1_s + 1e-9]


# -- A pacer the person can make slower or faster while practising ------------------------------

#: One press of ``+`` / ``-`` changes the breathing rate by this many breaths per minute.
PACER_STEP_BPM = 0.5


def scaled_pattern(pattern: BreathPattern, rate_bpm: float) -> BreathPattern:
    """``pattern`` stretched or shrunk to ``rate_bpm`` breaths/min, every part in proportion
    (4-7-8 stays 4:7:8). Raises :class:`~biofeedback.errors.InputError` outside the allowed rates."""
    k = pattern.rate_bpm / rate_bpm
    return BreathPattern(inhale_s=pattern.inhale_s * k, exhale_s=pattern.exhale_s * k,
                         hold_in_s=pattern.hold_in_s * k, hold_out_s=pattern.hold_out_s * k)


@dataclass(frozen=True, slots=True)
class PacerSegment:
    """From practice time ``start_s`` on, the pacer follows ``pattern``, starting ``offset_s`` into it."""

    start_s: float
    pattern: BreathPattern
    offset_s: float = 0.0


def retimed(segments: tuple[PacerSegment, ...], t_s: float, pattern: BreathPattern) -> tuple[PacerSegment, ...]:
    """``segments`` with ``pattern`` from practice time ``t_s`` on, continuing at the same point of the
    breath (same phase, same progress through it, same lung volume): no jump in the animation."""
    seg = segment_at(segments, t_s)
    x = seg.offset_s + (t_s - seg.start_s)
    fraction = (x % seg.pattern.period_s) / seg.pattern.period_s
    return (*segments, PacerSegment(t_s, pattern, fraction * pattern.period_s))


def segment_at(segments: tuple[PacerSegment, ...], t_s: float) -> PacerSegment:
    """The segment in force at practice time ``t_s`` (the first one before it starts)."""
    current = segments[0]
    for seg in segments[1:]:
        if seg.start_s <= t_s:
            current = seg
    return current


def adjusted_state(segments: tuple[PacerSegment, ...], t_s: float) -> PacerState:
    """The pacer at practice time ``t_s`` after the changes in ``segments`` (pure)."""
    seg = segment_at(segments, t_s)
    return breathing_state(seg.pattern, seg.offset_s + (t_s - seg.start_s))

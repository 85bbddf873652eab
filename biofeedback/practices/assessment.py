"""Pacer schedules of a resonance-frequency assessment, as pure functions of time (no clock reads).

Two protocols (see ``docs/resonance.md``):

* **stepped** (Lehrer, Vaschillo & Vaschillo 2000; Shaffer & Meehan 2020): whole breaths at each rate of
  ``rates_bpm`` (default 6.5, 6.0, 5.5, 5.0, 4.5 breaths/min) for about ``step_s`` (default 120 s) each,
  inhale share ``inhale_fraction`` (default 0.4, i.e. 4:6). The first ``settle_s`` seconds of each step
  (rounded up to a breath onset) are a settling period that is not analysed.
* **sliding** (Fisher & Lehrer 2022): the breath period grows by the same amount every breath, from
  ``60 / start_bpm`` to ``60 / end_bpm`` seconds (default 6.75 -> 4.25 breaths/min), inhale 50 %; the
  number of breaths is the one that makes the sweep last about ``duration_s`` (default 900 s: 78 breaths).

The rate changes only at breath onsets. A schedule is a tuple of :class:`PacedBreath`; the pacer state at
pacer time ``t_s`` (0 = first onset) is :func:`biofeedback.practices.pacer.breathing_state` of that
breath's pattern, so the animation and the lung-volume curve are those of the ordinary pacer.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from biofeedback.errors import InputError
from biofeedback.practices.pacer import PacerState, breathing_state
from biofeedback.practices.pattern import MAX_RATE_BPM, MIN_RATE_BPM, BreathPattern
from biofeedback.practices.practice import Practice
from biofeedback.practices.protocol import Protocol

AssessmentProtocol = Literal["stepped", "sliding"]
PROTOCOLS: tuple[AssessmentProtocol, ...] = ("stepped", "sliding")

#: Stepped protocol defaults (Shaffer & Meehan 2020, Table 1: 2-min epochs from 6.5 to 4.5 breaths/min).
STEPPED_RATES_BPM: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)
STEPPED_STEP_S = 120.0
STEPPED_SETTLE_S = 20.0
STEPPED_INHALE_FRACTION = 0.4
#: Sliding protocol defaults (Fisher & Lehrer 2022).
SLIDING_START_BPM = 6.75
SLIDING_END_BPM = 4.25
SLIDING_DURATION_S = 900.0
SLIDING_INHALE_FRACTION = 0.5
#: Rest before the pacer starts, seconds (the session's baseline phase).
ASSESSMENT_REST_S = 60.0


@dataclass(frozen=True, slots=True)
class PacedBreath:
    """One paced breath: starts at ``onset_s`` (pacer time, s), lasts ``period_s``, of which
    ``inhale_s`` breathing in. ``step`` is the index of its step (stepped) or -1 (sliding);
    ``analysed`` is False during a settling period."""

    onset_s: float
    period_s: float
    inhale_s: float
    step: int = -1
    analysed: bool = True

    @property
    def end_s(self) -> float:
        return self.onset_s + self.period_s

    @property
    def rate_bpm(self) -> float:
        """Breaths per minute, ``60 / period_s``."""
        return 60.0 / self.period_s

    @property
    def pattern(self) -> BreathPattern:
        return BreathPattern(inhale_s=self.inhale_s, exhale_s=self.period_s - self.inhale_s)


@dataclass(frozen=True, slots=True)
class AssessmentStep:
    """One rate of the stepped protocol: ``[start_s, end_s)`` in pacer time, analysed from
    ``analysis_start_s`` (after the settling period)."""

    rate_bpm: float
    start_s: float
    end_s: float
    analysis_start_s: float


@dataclass(frozen=True, slots=True)
class AssessmentSchedule:
    """The pacer of one assessment: its breaths in order (contiguous, from 0) and, for the stepped
    protocol, its steps."""

    protocol: AssessmentProtocol
    breaths: tuple[PacedBreath, ...]
    steps: tuple[AssessmentStep, ...] = ()

    def __post_init__(self) -> None:
        if not self.breaths:
            raise InputError("an assessment needs at least one breath")

    @property
    def duration_s(self) -> float:
        """Pacer time at which the last breath ends, seconds."""
        return self.breaths[-1].end_s

    @property
    def onsets_s(self) -> tuple[float, ...]:
        """Every breath onset and the end of the last breath (consecutive pairs delimit the breaths)."""
        return tuple(b.onset_s for b in self.breaths) + (self.duration_s,)

    def breath_index(self, t_s: float) -> int:
        """Index of the breath running at pacer time ``t_s`` (clamped to the first / last breath)."""
        i = bisect.bisect_right(self.breaths, t_s, key=lambda b: b.onset_s) - 1
        return min(max(i, 0), len(self.breaths) - 1)

    def breath_at(self, t_s: float) -> PacedBreath:
        return self.breaths[self.breath_index(t_s)]

    def rate_at(self, t_s: float) -> float:
        """The paced rate at pacer time ``t_s``, breaths/min."""
        return self.breath_at(t_s).rate_bpm

    def phase_at(self, t_s: float) -> float:
        """Breath phase in [0, 1) at pacer time ``t_s`` (0 = start of an inhalation); linear in time
        within each breath. Before 0 and after the end the first / last breath's period continues."""
        b = self.breath_at(t_s)
        return ((t_s - b.onset_s) / b.period_s) % 1.0

    def state_at(self, t_s: float) -> PacerState:
        """The pacer at pacer time ``t_s``: :func:`breathing_state` of the breath running then, with
        ``breath_index`` counted over the whole schedule."""
        i = self.breath_index(t_s)
        b = self.breaths[i]
        state = breathing_state(b.pattern, min(max(t_s - b.onset_s, 0.0), b.period_s * (1 - 1e-12)))
        return replace(state, breath_index=i)


def _check_rate(rate: float, what: str) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or not (
        MIN_RATE_BPM <= rate <= MAX_RATE_BPM
    ):
        raise InputError(f"{what} must be {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} breaths/min, got {rate!r}")
    return float(rate)


def stepped_schedule(
    rates_bpm: tuple[float, ...] = STEPPED_RATES_BPM,
    *,
    step_s: float = STEPPED_STEP_S,
    settle_s: float = STEPPED_SETTLE_S,
    inhale_fraction: float = STEPPED_INHALE_FRACTION,
) -> AssessmentSchedule:
    """The stepped protocol: ``round(step_s / period)`` whole breaths at each rate (at least 2), the
    breaths starting before ``start + settle_s`` marked not analysed.

    >>> s = stepped_schedule()
    >>> [len([b for b in s.breaths if b.step == k]) for k in range(5)]   # 120 s at each rate
    [13, 12, 11, 10, 9]
    >>> round(s.duration_s, 6), s.steps[2].rate_bpm, round(s.steps[2].analysis_start_s - s.steps[2].start_s, 3)
    (600.0, 5.5, 21.818)
    """
    if not rates_bpm:
        raise InputError("the stepped assessment needs at least one rate")
    if not (math.isfinite(step_s) and step_s > 0) or not (math.isfinite(settle_s) and 0 <= settle_s < step_s):
        raise InputError(f"step length must be > 0 s and settling 0 s up to the step length, got {step_s:g}, {settle_s:g}")
    if not 0.1 <= inhale_fraction <= 0.9:
        raise InputError(f"inhale fraction must be 0.1-0.9, got {inhale_fraction!r}")
    breaths: list[PacedBreath] = []
    steps: list[AssessmentStep] = []
    t = 0.0
    for k, rate in enumerate(rates_bpm):
        period = 60.0 / _check_rate(rate, "an assessment rate")
        n = max(2, round(step_s / period))
        start = t
        analysis_start: float | None = None
        for j in range(n):
            onset = start + j * period
            analysed = onset >= start + settle_s - 1e-9 or j == n - 1
            if analysed and analysis_start is None:
                analysis_start = onset
            breaths.append(PacedBreath(onset, period, period * inhale_fraction, k, analysed))
        t = start + n * period
        steps.append(AssessmentStep(float(rate), start, t, analysis_start if analysis_start is not None else start))
    return AssessmentSchedule("stepped", tuple(breaths), tuple(steps))


def sliding_schedule(
    *,
    start_bpm: float = SLIDING_START_BPM,
    end_bpm: float = SLIDING_END_BPM,
    duration_s: float = SLIDING_DURATION_S,
    inhale_fraction: float = SLIDING_INHALE_FRACTION,
) -> AssessmentSchedule:
    """The sliding protocol: ``n`` breaths whose periods grow linearly from ``60/start_bpm`` to
    ``60/end_bpm`` s, ``n = round(2 * duration_s / (P_start + P_end))``.

    >>> s = sliding_schedule()
    >>> len(s.breaths), round(s.breaths[0].rate_bpm, 2), round(s.breaths[-1].rate_bpm, 2), round(s.duration_s)
    (78, 6.75, 4.25, 897)
    """
    p0 = 60.0 / _check_rate(start_bpm, "the start rate")
    p1 = 60.0 / _check_rate(end_bpm, "the end rate")
    if not (math.isfinite(duration_s) and duration_s > p0 + p1):
        raise InputError(f"the sliding assessment must last longer than two breaths, got {duration_s:g} s")
    if not 0.1 <= inhale_fraction <= 0.9:
        raise InputError(f"inhale fraction must be 0.1-0.9, got {inhale_fraction!r}")
    n = max(2, round(2.0 * duration_s / (p0 + p1)))
    dp = (p1 - p0) / (n - 1)
    breaths = []
    t = 0.0
    for k in range(n):
        period = p0 + k * dp
        breaths.append(PacedBreath(t, period, period * inhale_fraction))
        t += period
    return AssessmentSchedule("sliding", tuple(breaths))


def assessment_schedule(protocol: str) -> AssessmentSchedule:
    """The default schedule of ``protocol`` (``"stepped"`` or ``"sliding"``)."""
    if protocol == "stepped":
        return stepped_schedule()
    if protocol == "sliding":
        return sliding_schedule()
    raise InputError(f"unknown assessment protocol {protocol!r} (choose from: {', '.join(PROTOCOLS)})")


def build_schedule(settings: Mapping[str, object]) -> AssessmentSchedule:
    """The schedule described by ``settings`` (what a stored assessment session keeps in its practice
    settings under ``"assessment"``): ``{"protocol": "stepped", "rates_bpm": [...], "step_s": ...,
    "settle_s": ..., "inhale_fraction": ...}`` or ``{"protocol": "sliding", "start_bpm": ..., "end_bpm":
    ..., "duration_s": ..., "inhale_fraction": ...}``; missing keys take the defaults.

    >>> build_schedule({"protocol": "sliding"}) == sliding_schedule()
    True
    """
    protocol = settings.get("protocol")

    def num(key: str, default: float) -> float:
        value = settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"assessment setting {key} must be a number, got {value!r}")
        return float(value)

    if protocol == "stepped":
        rates = settings.get("rates_bpm", list(STEPPED_RATES_BPM))
        if not isinstance(rates, (list, tuple)) or not all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in rates
        ):
            raise InputError(f"assessment rates must be a list of numbers, got {rates!r}")
        return stepped_schedule(tuple(float(r) for r in rates), step_s=num("step_s", STEPPED_STEP_S),
                                settle_s=num("settle_s", STEPPED_SETTLE_S),
                                inhale_fraction=num("inhale_fraction", STEPPED_INHALE_FRACTION))
    if protocol == "sliding":
        return sliding_schedule(start_bpm=num("start_bpm", SLIDING_START_BPM), end_bpm=num("end_bpm", SLIDING_END_BPM),
                                duration_s=num("duration_s", SLIDING_DURATION_S),
                                inhale_fraction=num("inhale_fraction", SLIDING_INHALE_FRACTION))
    raise InputError(f"unknown assessment protocol {protocol!r} (choose from: {', '.join(PROTOCOLS)})")


def assessment_practice(schedule: AssessmentSchedule) -> Practice:
    """The practice of an assessment session: named ``assess-<protocol>``, its pacer the schedule (the
    pattern is the first breath's), the intro ``assess.intro.<protocol>``, no cues or reminders."""
    return Practice(
        name=f"assess-{schedule.protocol}",
        pattern=schedule.breaths[0].pattern,
        intro=f"assess.intro.{schedule.protocol}",
        lead_in_s=0.0,
        schedule=schedule,
    )


def assessment_protocol(schedule: AssessmentSchedule, rest_s: float = ASSESSMENT_REST_S) -> Protocol:
    """The session shape: ``rest_s`` of rest, then the whole schedule, no recovery."""
    return Protocol(baseline_s=rest_s, practice_s=schedule.duration_s, recovery_s=0.0)

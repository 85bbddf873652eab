"""The prompt schedule of a session, as data computed in advance (pure; no clock reads).

:func:`prompt_schedule` lists every prompt of a session with its time; :func:`prompts_between` picks those
due in a time interval. A runner that calls ``prompts_between(schedule, previous_t, now)`` on every frame
(``previous_t = None`` on the first) turns each prompt into an event exactly once, in order, whatever the
frame rate.

What is said when (``P`` = practice start, ``E`` = practice end, times in session seconds):

- ``0``: ``phase.baseline`` ("Rest quietly for a moment"; ``assess.rest`` before an assessment), if there
  is a baseline;
- ``P``: the practice's ``intro`` (or ``phase.practice``);
- from ``P + lead_in_s``: spoken breath cues (``cue.inhale``, ``cue.hold``, ``cue.exhale``) at the start of
  each breath phase for the first ``cue_breaths`` breaths, then a reminder every ``reminder_every_s``;
- touch practices, from ``P + lead_in_s``: each spell says ``place``, then ``during`` prompts, then
  ``release``; only whole spells that end by ``E`` are scheduled;
- nothing in the last 10 s of the practice except a release;
- a resonance assessment (a practice with a ``schedule``): ``assess.step`` with the new rate at each rate
  change of the stepped protocol, instead of breath cues;
- ``E``: ``phase.recovery``, if there is a recovery; at the end (``total_s``): ``phase.done``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from biofeedback.practices.pacer import breath_boundaries
from biofeedback.practices.practice import Practice
from biofeedback.practices.protocol import Protocol
from biofeedback.practices.texts import check_lang, fill, format_number, lookup_lang

#: No new cue or reminder this close to the end of the practice, seconds.
QUIET_BEFORE_END_S = 10.0

_CUE_KEY = {"inhale": "cue.inhale", "hold_in": "cue.hold", "exhale": "cue.exhale", "hold_out": "cue.hold"}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt: at ``t_s`` seconds since session start, say ``text`` (the text of prompt ``key``)."""

    t_s: float
    key: str
    text: str


def prompt_schedule(practice: Practice, protocol: Protocol, lang: str = "en") -> list[Prompt]:
    """Every prompt of a session of ``practice`` shaped by ``protocol``, in ``lang``, sorted by time
    (prompts at the same time keep the order in which they are listed above)."""
    check_lang(lang)
    items: list[tuple[float, str]] = []
    p0 = protocol.practice_start_s
    p1 = protocol.recovery_start_s
    if protocol.baseline_s > 0:
        items.append((0.0, "assess.rest" if practice.schedule is not None else "phase.baseline"))
    if protocol.practice_s > 0:
        items.append((p0, practice.intro or "phase.practice"))
        items.extend(_practice_items(practice, p0, p1))
    if protocol.recovery_s > 0:
        items.append((p1, "phase.recovery"))
    items.append((protocol.total_s, "phase.done"))
    ordered = sorted(enumerate(items), key=lambda it: (it[1][0], it[0]))
    rates = _step_rates(practice, p0)
    return [Prompt(t_s=t, key=key, text=_step_text(practice, lang, rates[t]) if key == STEP_KEY else practice.text(key, lang))
            for _, (t, key) in ordered]


#: Said at each rate change of a stepped assessment (``{rate_bpm}`` is the new rate).
STEP_KEY = "assess.step"


def _step_rates(practice: Practice, p0: float) -> dict[float, float]:
    """Session time of each rate change of a stepped assessment -> the new rate (breaths/min)."""
    if practice.schedule is None:
        return {}
    return {p0 + step.start_s: step.rate_bpm for step in practice.schedule.steps[1:]}


def _step_text(practice: Practice, lang: str, rate_bpm: float) -> str:
    found = lookup_lang(STEP_KEY, lang, practice.texts)
    return STEP_KEY if found is None else fill(found[0], {"rate_bpm": format_number(rate_bpm, "g", found[1])})


def _practice_items(practice: Practice, p0: float, p1: float) -> list[tuple[float, str]]:
    items: list[tuple[float, str]] = []
    start = p0 + practice.lead_in_s
    quiet_from = p1 - QUIET_BEFORE_END_S
    if practice.touch is not None:
        touch = practice.touch
        k = 0
        n_during = 0
        while True:
            s0 = start + k * touch.cycle_s
            s1 = s0 + touch.spell_s
            if s1 > p1 + 1e-9:
                break
            items.append((s0, touch.place))
            j = 1
            while touch.during and (t := s0 + j * touch.during_interval_s) < s1 - 1e-9:
                items.append((t, touch.during[n_during % len(touch.during)]))
                n_during += 1
                j += 1
            items.append((s1, touch.release))
            k += 1
        return items
    if practice.schedule is not None:
        items.extend((t, STEP_KEY) for t in _step_rates(practice, p0) if t < quiet_from)
    elif practice.pattern is not None:
        pattern = practice.pattern
        # Breath onsets are in pacer time (0 = practice start); cue from the first onset after the lead-in.
        onsets = breath_boundaries(pattern, practice.lead_in_s, p1 - p0)
        for onset in onsets[: practice.cue_breaths]:
            t = onset
            for phase, duration in (
                ("inhale", pattern.inhale_s),
                ("hold_in", pattern.hold_in_s),
                ("exhale", pattern.exhale_s),
                ("hold_out", pattern.hold_out_s),
            ):
                if duration > 0 and p0 + t < quiet_from:
                    items.append((p0 + t, _CUE_KEY[phase]))
                t += duration
    if practice.reminders:
        n = 1
        while (t := start + n * practice.reminder_every_s) < quiet_from:
            items.append((t, practice.reminders[(n - 1) % len(practice.reminders)]))
            n += 1
    return items


def prompts_between(schedule: list[Prompt], t0_s: float | None, t1_s: float) -> list[Prompt]:
    """The prompts of ``schedule`` (sorted, as made by :func:`prompt_schedule`) with
    ``t0_s < t_s <= t1_s``, in order. Pass ``t0_s=None`` on the first call (meaning "from the start",
    so the prompt at 0 is included). Over consecutive intervals ``(None, a1], (a1, a2], ... (an-1, T]``
    every prompt up to ``T`` is returned exactly once; an empty interval (``t1_s <= t0_s``) returns none.
    """
    lo = 0 if t0_s is None or t0_s == -math.inf else bisect.bisect_right(schedule, t0_s, key=_t)
    hi = bisect.bisect_right(schedule, t1_s, key=_t)
    return schedule[lo:hi] if hi > lo else []


def _t(prompt: Prompt) -> float:
    return prompt.t_s

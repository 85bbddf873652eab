"""A practice: what to do during the practice phase of a session (a pacer, soothing touch, or both),
and which prompts guide it. Practices are data (TOML files, see :mod:`biofeedback.practices.library`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from biofeedback.errors import InputError
from biofeedback.practices.pattern import (
    DEFAULT_INHALE_FRACTION,
    BreathPattern,
    pattern_from_rate,
)
from biofeedback.practices.texts import fill, format_number, lookup, lookup_lang

if TYPE_CHECKING:
    from biofeedback.practices.assessment import AssessmentSchedule

PracticeKind = Literal["breathing", "touch"]

#: Default length of one spell of soothing touch, and of the rest between spells, seconds.
DEFAULT_SPELL_S = 20.0
DEFAULT_REST_S = 10.0


@dataclass(frozen=True, slots=True)
class TouchSpec:
    """Soothing touch held in spells: ``place`` is said at the start of each spell, one of ``during``
    every ``during_every_s`` seconds within it (cycling through the list across spells), ``release`` at
    its end; then ``rest_s`` seconds of rest before the next spell. Keys name prompt texts."""

    gesture: str
    spell_s: float = DEFAULT_SPELL_S
    rest_s: float = DEFAULT_REST_S
    place: str = "touch.heart.place"
    during: tuple[str, ...] = ("touch.settle", "touch.breathe")
    during_every_s: float | None = None  # None: once, halfway through the spell
    release: str = "touch.release"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.spell_s) and self.spell_s > 0):
            raise InputError(f"touch spell must be > 0 s, got {self.spell_s!r}")
        if not (math.isfinite(self.rest_s) and self.rest_s >= 0):
            raise InputError(f"rest between touch spells must be >= 0 s, got {self.rest_s!r}")
        if self.during_every_s is not None and not (math.isfinite(self.during_every_s) and self.during_every_s > 0):
            raise InputError(f"touch during_every_s must be > 0 s, got {self.during_every_s!r}")

    @property
    def cycle_s(self) -> float:
        """One spell plus the rest after it, seconds."""
        return self.spell_s + self.rest_s

    @property
    def during_interval_s(self) -> float:
        return self.during_every_s if self.during_every_s is not None else self.spell_s / 2.0


@dataclass(frozen=True, slots=True)
class Practice:
    """One practice.

    name: its identifier (the TOML file's name), e.g. ``"resonance"``.
    pattern: the pacer's breathing pattern, or ``None`` (touch without a pacer).
    touch: soothing touch in spells, or ``None`` (breathing only).
    intro: prompt key said when the practice starts (``None``: a generic one).
    lead_in_s: seconds after the practice starts before breath cues / the first touch spell.
    cue_breaths: how many breaths (after the lead-in) get spoken cues ("Breathe in", "Hold", "Breathe out").
    reminders: prompt keys said every ``reminder_every_s`` seconds during the practice, cycling.
    texts: the practice's own texts, ``lang -> key -> text``, looked up before the shipped ones.
    source: the file it came from.
    schedule: a pacer whose rate changes (a resonance assessment); ``pattern`` is then its first breath.
    """

    name: str
    pattern: BreathPattern | None = None
    touch: TouchSpec | None = None
    intro: str | None = None
    lead_in_s: float = 5.0
    cue_breaths: int = 0
    reminders: tuple[str, ...] = ()
    reminder_every_s: float = 60.0
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<built-in>"
    schedule: "AssessmentSchedule | None" = None

    def __post_init__(self) -> None:
        if self.pattern is None and self.touch is None:
            raise InputError(f"practice {self.name!r} has neither [breathing] nor [touch]", path=self.source)
        if not (math.isfinite(self.lead_in_s) and self.lead_in_s >= 0):
            raise InputError(f"practice {self.name!r}: lead_in_s must be >= 0", path=self.source)
        if self.cue_breaths < 0:
            raise InputError(f"practice {self.name!r}: cue_breaths must be >= 0", path=self.source)
        if self.touch is not None and self.reminders:
            raise InputError(
                f"practice {self.name!r}: reminders are for breathing practices; with [touch] use 'during'",
                path=self.source,
            )
        if not (math.isfinite(self.reminder_every_s) and self.reminder_every_s > 0):
            raise InputError(f"practice {self.name!r}: reminder_every_s must be > 0", path=self.source)

    @property
    def kind(self) -> PracticeKind:
        """``"touch"`` when it has touch spells (perhaps with a gentle pacer too), else ``"breathing"``."""
        return "touch" if self.touch is not None else "breathing"

    def keys(self) -> tuple[str, ...]:
        """Every prompt key this practice uses (for validation)."""
        keys: list[str] = []
        if self.intro:
            keys.append(self.intro)
        keys.extend(self.reminders)
        if self.touch is not None:
            keys.extend([self.touch.place, *self.touch.during, self.touch.release])
        return tuple(keys)

    def format_values(self, lang: str = "en") -> dict[str, str]:
        """Values for ``{placeholders}`` in texts: pattern seconds, rate, spell length (``%g``), written
        as ``lang`` writes numbers (``5,5`` in Dutch)."""
        values: dict[str, str] = {}
        if self.pattern is not None:
            p = self.pattern
            values.update(
                inhale_s=format_number(p.inhale_s, ".3g", lang),
                hold_in_s=format_number(p.hold_in_s, ".3g", lang),
                exhale_s=format_number(p.exhale_s, ".3g", lang),
                hold_out_s=format_number(p.hold_out_s, ".3g", lang),
                rate_bpm=format_number(p.rate_bpm, ".3g", lang),
                pattern=p.label,
            )
        if self.touch is not None:
            values["spell_s"] = format_number(self.touch.spell_s, "g", lang)
        return values

    def text(self, key: str, lang: str) -> str:
        """The text of prompt ``key`` in ``lang``, placeholders filled; the key itself if no text exists."""
        found = lookup_lang(key, lang, self.texts)
        return key if found is None else fill(found[0], self.format_values(found[1]))

    def title(self, lang: str) -> str:
        """A short title, e.g. "Resonance breathing" / "Resonantieademhaling"; the name if none is given."""
        text = lookup(f"practice.{self.name}.title", lang, self.texts)
        return self.name if text is None else text

    def description(self, lang: str) -> str:
        found = lookup_lang(f"practice.{self.name}.description", lang, self.texts)
        return "" if found is None else fill(found[0], self.format_values(found[1]))


def customize(
    practice: Practice,
    *,
    pattern: BreathPattern | None = None,
    rate_bpm: float | None = None,
    inhale_fraction: float | None = None,
    spell_s: float | None = None,
    rest_s: float | None = None,
) -> Practice:
    """A copy of ``practice`` with a different pacer or touch spell length (what ``--pattern``, ``--rate``,
    ``--ratio`` and ``--spell`` do). ``pattern`` and ``rate_bpm`` exclude each other; ``inhale_fraction``
    (default 0.4) applies to ``rate_bpm``. A pacer may be added to a touch practice (a gentle rhythm)."""
    if pattern is not None and rate_bpm is not None:
        raise InputError("give either a breathing pattern or a rate, not both")
    if inhale_fraction is not None and rate_bpm is None:
        raise InputError("an inhale:exhale ratio needs a breathing rate (--rate)")
    new = practice
    if rate_bpm is not None:
        pattern = pattern_from_rate(rate_bpm, DEFAULT_INHALE_FRACTION if inhale_fraction is None else inhale_fraction)
    if pattern is not None:
        new = dataclasses.replace(new, pattern=pattern)
    if spell_s is not None or rest_s is not None:
        if new.touch is None:
            raise InputError(f"practice {practice.name!r} has no touch spells to set a length for")
        touch = dataclasses.replace(
            new.touch,
            spell_s=new.touch.spell_s if spell_s is None else spell_s,
            rest_s=new.touch.rest_s if rest_s is None else rest_s,
        )
        if touch.during_every_s is not None and touch.during_every_s >= touch.spell_s:
            touch = dataclasses.replace(touch, during_every_s=None)
        new = dataclasses.replace(new, touch=touch)
    return new

"""Breathing patterns: how many seconds to breathe in, hold, breathe out and hold.

A pattern is written ``IN-HOLD-OUT-HOLD`` in seconds, e.g. ``4-0-6-0`` (resonance breathing, 6 breaths
per minute) or ``4-7-8-0``. A pattern can also be made from a rate in breaths per minute and an
inhale fraction (default 0.4, i.e. an inhale:exhale ratio of 40:60, no holds).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from biofeedback.errors import InputError

#: Default share of a breath spent breathing in when a pattern is built from a rate (40:60).
DEFAULT_INHALE_FRACTION = 0.4

#: The slowest and fastest rates we accept, in breaths per minute.
MIN_RATE_BPM = 1.0
MAX_RATE_BPM = 30.0

_NUMBER = r"(\d+(?:\.\d+)?)"
_PATTERN_TEXT = re.compile(rf"^\s*{_NUMBER}\s*-\s*{_NUMBER}\s*-\s*{_NUMBER}(?:\s*-\s*{_NUMBER})?\s*$")


@dataclass(frozen=True, slots=True)
class BreathPattern:
    """One breath: ``inhale_s`` in, ``hold_in_s`` hold (lungs full), ``exhale_s`` out, ``hold_out_s`` hold
    (lungs empty), all in seconds. Inhale and exhale are > 0; holds are >= 0."""

    inhale_s: float
    exhale_s: float
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise InputError(f"breathing pattern: {name} must be a finite number of seconds, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not (self.inhale_s > 0 and self.exhale_s > 0):
            raise InputError(
                f"breathing pattern: inhale and exhale must be > 0 s, got {self.inhale_s:g} and {self.exhale_s:g}"
            )
        if self.hold_in_s < 0 or self.hold_out_s < 0:
            raise InputError("breathing pattern: holds must be >= 0 s")
        rate = 60.0 / self.period_s
        if not (MIN_RATE_BPM - 1e-9 <= rate <= MAX_RATE_BPM + 1e-9):
            raise InputError(
                f"breathing pattern {self.label}: {rate:.3g} breaths/min is outside "
                f"{MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} breaths/min"
            )

    @property
    def period_s(self) -> float:
        """Length of one whole breath, seconds."""
        return self.inhale_s + self.hold_in_s + self.exhale_s + self.hold_out_s

    @property
    def rate_bpm(self) -> float:
        """Breaths per minute, ``60 / period_s`` (bpm here means breaths, not beats)."""
        return 60.0 / self.period_s

    @property
    def frequency_hz(self) -> float:
        """Breathing frequency, ``1 / period_s``, Hz (where the RSA peak of the HRV spectrum should sit)."""
        return 1.0 / self.period_s

    @property
    def label(self) -> str:
        """``IN-HOLD-OUT-HOLD`` in seconds, e.g. ``"4-7-8-0"``; numbers printed with ``%g``."""
        return "-".join(f"{v:g}" for v in (self.inhale_s, self.hold_in_s, self.exhale_s, self.hold_out_s))


def parse_pattern(text: str) -> BreathPattern:
    """``"4-0-6-0"`` -> ``BreathPattern(4, 6, 0, 0)``. Three numbers mean ``IN-HOLD-OUT`` (no final hold).

    Raises :class:`~biofeedback.errors.InputError` naming the text when it is not a pattern.
    """
    m = _PATTERN_TEXT.match(text)
    if not m:
        raise InputError(f"not a breathing pattern: {text!r} (use IN-HOLD-OUT-HOLD seconds, e.g. 4-0-6-0)")
    inhale, hold_in, exhale, hold_out = (float(g) if g is not None else 0.0 for g in m.groups())
    return BreathPattern(inhale_s=inhale, hold_in_s=hold_in, exhale_s=exhale, hold_out_s=hold_out)


def pattern_from_rate(rate_bpm: float, inhale_fraction: float = DEFAULT_INHALE_FRACTION) -> BreathPattern:
    """A pattern without holds at ``rate_bpm`` breaths per minute; ``inhale_fraction`` of each breath in.

    ``pattern_from_rate(5.5)`` -> period 60/5.5 = 10.909 s: 4.364 s in, 6.545 s out.
    """
    if not (isinstance(rate_bpm, (int, float)) and math.isfinite(rate_bpm)) or not (
        MIN_RATE_BPM <= rate_bpm <= MAX_RATE_BPM
    ):
        raise InputError(f"breathing rate must be {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} breaths/min, got {rate_bpm!r}")
    if not (isinstance(inhale_fraction, (int, float)) and 0.1 <= inhale_fraction <= 0.9):
        raise InputError(f"inhale fraction must be 0.1-0.9, got {inhale_fraction!r}")
    period_s = 60.0 / rate_bpm
    return BreathPattern(inhale_s=period_s * inhale_fraction, exhale_s=period_s * (1.0 - inhale_fraction))


def parse_ratio(text: str) -> float:
    """``"40:60"`` (inhale:exhale) -> 0.4, the inhale fraction. Also accepts ``"2:3"`` or ``"0.4"``."""
    t = text.strip()
    try:
        if ":" in t:
            a, b = (float(x) for x in t.split(":", 1))
            fraction = a / (a + b)
        else:
            fraction = float(t)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"not an inhale:exhale ratio: {text!r} (use e.g. 40:60)") from None
    if not 0.1 <= fraction <= 0.9:
        raise InputError(f"inhale:exhale ratio {text!r} gives an inhale share of {fraction:.2f}; use 0.1-0.9")
    return fraction

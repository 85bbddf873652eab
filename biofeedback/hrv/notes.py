"""Notes that keep an index from being misread (shown by ``analyze``, ``compare`` and ``report``).

Slow breathing and LF/HF. LF/HF is often read as "sympathovagal balance". When a person breathes
slower than 9 breaths/min (0.15 Hz), as in resonance-frequency breathing at about 6/min (0.1 Hz),
the respiratory sinus arrhythmia, a vagal rhythm, falls inside the LF band (0.04-0.15 Hz): LF
then holds most of the power and LF/HF is large without any sympathetic activation (Shaffer &
Ginsberg 2017, doi:10.3389/fpubh.2017.00258, "LF power ... may be produced by ... vagal
activity" during slow breathing; Lehrer & Gevirtz 2014, doi:10.3389/fpsyg.2014.00756). On the real
Polar H10 breathing recording LF/HF is 54.7 with LFnu 98 %. The note is given when LF holds at
least :data:`LF_DOMINANT_NU` (75) % of LF+HF and the LF peak lies in the slow-breathing range
:data:`SLOW_BREATHING_HZ` (0.05-0.15 Hz, 3-9 breaths/min).
"""

from __future__ import annotations

import math

__all__ = ["LF_DOMINANT_NU", "SLOW_BREATHING_HZ", "SLOW_BREATHING_NOTE", "SLOW_BREATHING_SPECS", "slow_breathing_values",
           "spectral_notes"]

LF_DOMINANT_NU = 75.0
SLOW_BREATHING_HZ = (0.05, 0.15)


#: The slow-breathing note, English (its Dutch is ``note.slow_breathing`` in
#: ``biofeedback/practices/prompts/nl.toml``; a test keeps en.toml's copy equal to this one).
SLOW_BREATHING_NOTE = (
    "LF holds {lf_nu} % of LF+HF with its peak at {lf_peak_hz} Hz ({rate_bpm} breaths/min if it is breathing): "
    "breathing slower than 9/min puts the respiratory (vagal) peak in the LF band, so a high LF/HF here reflects "
    "slow breathing, not sympathetic dominance"
)
#: How the note's numbers are written (format specs).
SLOW_BREATHING_SPECS = {"lf_nu": ".0f", "lf_peak_hz": ".3f", "rate_bpm": ".1f"}


def slow_breathing_values(lf_nu: float | None, lf_peak_hz: float | None) -> dict[str, float] | None:
    """The numbers of the slow-breathing note (LF n.u. in %, LF peak in Hz, its rate in breaths/min),
    or ``None`` when the note does not apply (LF below :data:`LF_DOMINANT_NU` % or its peak outside
    :data:`SLOW_BREATHING_HZ`)."""
    if lf_nu is None or lf_peak_hz is None or not (math.isfinite(lf_nu) and math.isfinite(lf_peak_hz)):
        return None
    lo, hi = SLOW_BREATHING_HZ
    if lf_nu >= LF_DOMINANT_NU and lo <= lf_peak_hz < hi:
        return {"lf_nu": lf_nu, "lf_peak_hz": lf_peak_hz, "rate_bpm": 60 * lf_peak_hz}
    return None


def spectral_notes(lf_nu: float | None, lf_peak_hz: float | None) -> tuple[str, ...]:
    """Sentences for the output (empty when nothing needs saying), in English.

    Examples
    --------
    >>> spectral_notes(98.0, 0.094)[0][:60]
    'LF holds 98 % of LF+HF with its peak at 0.094 Hz (5.6 breath'
    >>> spectral_notes(40.0, 0.094)
    ()
    """
    values = slow_breathing_values(lf_nu, lf_peak_hz)
    if values is None:
        return ()
    return (SLOW_BREATHING_NOTE.format(**{k: format(v, SLOW_BREATHING_SPECS[k]) for k, v in values.items()}),)

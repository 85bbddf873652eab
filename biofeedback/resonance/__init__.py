"""Resonance-frequency assessment: the criteria per breathing rate and the decision (pure; no I/O).

See ``docs/resonance.md``.
"""

from biofeedback.resonance.assessment import AssessmentResult, SweepCurve, assess, choose_stepped
from biofeedback.resonance.criteria import RateCriteria, RhythmFit, breath_phase, fit_breathing_rhythm, rate_criteria

__all__ = [
    "AssessmentResult",
    "RateCriteria",
    "RhythmFit",
    "SweepCurve",
    "assess",
    "breath_phase",
    "choose_stepped",
    "fit_breathing_rhythm",
    "rate_criteria",
]

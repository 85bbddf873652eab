"""Guided practices: breathing patterns and the pacer, soothing touch, the session protocol and prompts.

Everything here is a pure function of time or of data files; no clock is read. See ``docs/practices.md``.
"""

from biofeedback.practices.guide import current_prompt, pacer_at, practice_breath_onsets_s
from biofeedback.practices.library import SHIPPED_DIR, get_practice, load_practice_file, load_practices, practice_dirs
from biofeedback.practices.pacer import PacerState, breath_boundaries, breathing_state
from biofeedback.practices.pattern import BreathPattern, parse_pattern, parse_ratio, pattern_from_rate
from biofeedback.practices.practice import Practice, TouchSpec, customize
from biofeedback.practices.prompts import Prompt, prompt_schedule, prompts_between
from biofeedback.practices.protocol import PhaseSpan, PhaseState, Protocol
from biofeedback.practices.texts import LANGS

__all__ = [
    "LANGS",
    "SHIPPED_DIR",
    "BreathPattern",
    "PacerState",
    "PhaseSpan",
    "PhaseState",
    "Practice",
    "Prompt",
    "Protocol",
    "TouchSpec",
    "breath_boundaries",
    "breathing_state",
    "current_prompt",
    "customize",
    "get_practice",
    "load_practice_file",
    "load_practices",
    "pacer_at",
    "parse_pattern",
    "parse_ratio",
    "pattern_from_rate",
    "practice_breath_onsets_s",
    "practice_dirs",
    "prompt_schedule",
    "prompts_between",
]

"""Guided practices: breathing patterns and the pacer, soothing touch, the session protocol and prompts.

Everything here is a pure function of time or of data files; no clock is read. See ``docs/practices.md``.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562), so importing one submodule
    # (e.g. ``biofeedback.practices.texts`` for `analyze`'s messages) does not import them all
    from biofeedback.practices.guide import current_prompt, pacer_at, practice_breath_onsets_s
    from biofeedback.practices.library import (
        SHIPPED_DIR, get_practice, load_practice_file, load_practices, practice_dirs,
    )
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


_MODULE_OF: dict[str, str] = {
    "current_prompt": "biofeedback.practices.guide",
    "pacer_at": "biofeedback.practices.guide",
    "practice_breath_onsets_s": "biofeedback.practices.guide",
    "SHIPPED_DIR": "biofeedback.practices.library",
    "get_practice": "biofeedback.practices.library",
    "load_practice_file": "biofeedback.practices.library",
    "load_practices": "biofeedback.practices.library",
    "practice_dirs": "biofeedback.practices.library",
    "PacerState": "biofeedback.practices.pacer",
    "breath_boundaries": "biofeedback.practices.pacer",
    "breathing_state": "biofeedback.practices.pacer",
    "BreathPattern": "biofeedback.practices.pattern",
    "parse_pattern": "biofeedback.practices.pattern",
    "parse_ratio": "biofeedback.practices.pattern",
    "pattern_from_rate": "biofeedback.practices.pattern",
    "Practice": "biofeedback.practices.practice",
    "TouchSpec": "biofeedback.practices.practice",
    "customize": "biofeedback.practices.practice",
    "Prompt": "biofeedback.practices.prompts",
    "prompt_schedule": "biofeedback.practices.prompts",
    "prompts_between": "biofeedback.practices.prompts",
    "PhaseSpan": "biofeedback.practices.protocol",
    "PhaseState": "biofeedback.practices.protocol",
    "Protocol": "biofeedback.practices.protocol",
    "LANGS": "biofeedback.practices.texts",
}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

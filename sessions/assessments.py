"""Resonance-frequency assessments in the store: analyse a recorded assessment session, keep its result,
list past results, and say which resonance rate the user has.

An assessment session is an ordinary session (raw beats, gaps, events, phases) whose practice settings
hold ``"assessment"``: the schedule's settings (:func:`biofeedback.practices.assessment.build_schedule`).
Its result is recomputed from the raw beats by the pure core (:func:`biofeedback.resonance.assess`) and
kept in the ``assessments`` table (migration ``0007_assessments``), removed with the session.

The user's resonance rate is the rate of the most recent assessment whose status is ``ok``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from biofeedback.errors import InputError
from biofeedback.practices.assessment import AssessmentSchedule, build_schedule
from biofeedback.resonance import AssessmentResult, assess
from sessions.store import Store
from sessions.store_rows import (
    AssessmentRow, assessment_row, assessment_rows, latest_ok_assessment_row, put_assessment,
)


@dataclass(frozen=True)
class StoredAssessment:
    """One row of the ``assessments`` table, with its result decoded."""

    session_id: str
    assessed_wall: str
    protocol: str
    status: str
    resonance_rate_bpm: float | None
    runner_up_bpm: float | None
    result: AssessmentResult

    def to_json_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "assessed_wall": self.assessed_wall, **self.result.to_json_dict()}


def is_assessment(practice_settings: dict[str, Any]) -> bool:
    return isinstance(practice_settings.get("assessment"), dict)


def session_schedule(store: Store, session_id: str) -> tuple[AssessmentSchedule, float]:
    """The schedule of an assessment session and the session time at which its pacer started."""
    info = store.get_session(session_id)
    if not is_assessment(info.practice_settings):
        raise InputError(f"session {session_id} is not a resonance assessment")
    schedule = build_schedule(info.practice_settings["assessment"])
    # The protocol starts at the first beat (sessions.live): the pacer began where the stored
    # practice phase begins; the planned rest length is the fallback for a session without phases.
    practice = [p.start_s for p in store.phases(session_id) if p.name == "practice"]
    return schedule, practice[0] if practice else float(info.protocol.get("baseline_s", 0.0))


def stored_beat_arrays(store: Store, session_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t_s, rr_ms, breaks)`` of a stored session's raw beats (``breaks``: a gap before the beat)."""
    beats = store.beats(session_id)
    t = np.array([b.t_s for b in beats], dtype=np.float64)
    rr = np.array([b.rr_ms for b in beats], dtype=np.float64)
    breaks = np.zeros(t.size, dtype=bool)
    for g in store.gaps(session_id):
        if 0 <= g.next_seq < t.size:
            breaks[g.next_seq] = True
    return t, rr, breaks


def analyse_session(store: Store, session_id: str) -> AssessmentResult:
    """Recompute the assessment of a stored session from its raw beats and gaps."""
    schedule, p0 = session_schedule(store, session_id)
    t, rr, breaks = stored_beat_arrays(store, session_id)
    return assess(schedule, t, rr, pacer_start_s=p0, breaks=breaks)


def save_assessment(store: Store, session_id: str, result: AssessmentResult) -> StoredAssessment:
    """Keep (or replace) the result of an assessment session."""
    info = store.get_session(session_id)
    row: AssessmentRow = (session_id, info.start_wall, result.protocol, result.status, result.resonance_rate_bpm,
                          result.runner_up_bpm, json.dumps(result.to_json_dict(), allow_nan=False))
    put_assessment(store, row)
    return StoredAssessment(session_id, info.start_wall, result.protocol, result.status, result.resonance_rate_bpm,
                            result.runner_up_bpm, result)


def _stored(r: AssessmentRow | None) -> StoredAssessment | None:
    if r is None:
        return None
    return StoredAssessment(*r[:6], AssessmentResult.from_json_dict(json.loads(r[6])))


def list_assessments(store: Store) -> list[StoredAssessment]:
    """Every kept assessment, oldest first."""
    return [a for a in map(_stored, assessment_rows(store)) if a is not None]


def get_assessment(store: Store, session_id: str) -> StoredAssessment | None:
    return _stored(assessment_row(store, session_id))


def resonance_rate(store: Store) -> StoredAssessment | None:
    """The user's resonance rate: the latest assessment with status ``ok`` (``None`` if there is none)."""
    return _stored(latest_ok_assessment_row(store))

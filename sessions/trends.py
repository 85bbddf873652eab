r"""Day-by-day trends: resting lnRMSSD, its 7-day rolling mean and variation, and practice minutes.

:func:`daily_trends` is a pure function of the store's data and the ``today`` it is given (it never
reads a clock), one row per calendar day of the last ``days`` days ending ``today``:

``baseline_ln_rmssd``
    ln(RMSSD/ms) of the baseline rest phase of each session started that day (the session read once
    by :func:`sessions.stored.read_session`), computed as in :mod:`sessions.compare` (stored raw
    beats, Lipponen & Tarvainen artifact detection, flagged beats removed, RMSSD over successive
    pairs of valid beats of one run, :func:`biofeedback.hrv.time_domain.time_domain`); the mean when
    there were several sessions. A baseline with less than 30 s of beats (RMSSD's minimum) does
    not count. ``None`` on a day without such a baseline.
``rolling_mean_7d``, ``cv_7d_pct``
    Over the days ``d-6 .. d`` that have a value (``n_days_7d`` of them): the mean of the daily
    values, and their coefficient of variation ``100 · SD / mean`` (sample SD, n − 1), in %.
    Resting lnRMSSD is commonly followed this way: the 7-day rolling mean for the trend and its
    CV for how settled the autonomic state is (Plews, Laursen, Stanley, Kilding & Buchheit 2013,
    Sports Med 43:773-781, doi:10.1007/s40279-013-0071-8). With fewer than 3 days in the window
    both are ``None`` with a reason: Plews et al. (2014, IJSPP 9:783-790,
    doi:10.1123/ijspp.2013-0455) found that 3 randomly chosen days a week are the fewest that
    still give a valid weekly mean.
``practice_min``, ``goal_met``
    The practice time actually recorded in that day's sessions, in minutes (each practice phase
    cut at the session's last beat, minus the gaps inside it: a session quit early counts what it
    recorded, a session without beats counts nothing), against
    the goal of :data:`DAILY_GOAL_MIN` = 20 minutes a day (resonance-breathing protocols prescribe
    home practice of about 20 minutes, often twice a day; Lehrer, Vaschillo & Vaschillo 2000,
    Appl Psychophysiol Biofeedback 25:177-191, doi:10.1023/A:1009554825745). Imported recordings have no phases and do not count. A practice
    phase that was never closed (a crashed recording) counts until its last beat.

Simulated sessions (``biofeedback demo``, marked ``simulated`` in the store) are not the user's
practice: they count in no row; ``n_simulated_left_out`` says how many there were.

Days are calendar dates on the clock where the session was recorded (the UTC offset stored with
its start time), so a session keeps its day when the machine changes time zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from biofeedback.json_values import finite_or_none
from sessions.stored import SessionOutline, StoredSession, read_session

if TYPE_CHECKING:  # pragma: no cover
    from sessions.store import Store

__all__ = ["DAILY_GOAL_MIN", "ROLLING_DAYS", "MIN_ROLLING_DAYS", "DayTrend", "Trends", "daily_trends", "session_date"]

DAILY_GOAL_MIN = 20.0
ROLLING_DAYS = 7
MIN_ROLLING_DAYS = 3
MIN_BASELINE_S = 30.0


@dataclass(frozen=True, slots=True)
class DayTrend:
    """One calendar day (see the module docstring for every field)."""

    day: date
    n_sessions: int
    baseline_ln_rmssd: float | None
    n_baselines: int
    rolling_mean_7d: float | None
    cv_7d_pct: float | None
    n_days_7d: int
    rolling_reason: str | None
    practice_min: float
    goal_met: bool

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "n_sessions": self.n_sessions,
            "baseline_ln_rmssd": finite_or_none(self.baseline_ln_rmssd),
            "n_baselines": self.n_baselines,
            "rolling_mean_7d": finite_or_none(self.rolling_mean_7d),
            "cv_7d_pct": finite_or_none(self.cv_7d_pct),
            "n_days_7d": self.n_days_7d,
            "rolling_reason": self.rolling_reason,
            "practice_min": self.practice_min,
            "goal_met": self.goal_met,
        }


@dataclass(frozen=True)
class Trends:
    """The rows of :func:`daily_trends`, oldest day first, and the totals."""

    today: date
    days: int
    goal_min: float
    rows: tuple[DayTrend, ...]
    n_simulated: int = 0  # simulated sessions (demos) in the period, left out of every row

    @property
    def days_goal_met(self) -> int:
        return sum(1 for r in self.rows if r.goal_met)

    @property
    def practice_min_total(self) -> float:
        return sum(r.practice_min for r in self.rows)

    def to_json_dict(self) -> dict[str, Any]:
        """``{"today", "days", "goal_min", "days_goal_met", "practice_min_total", "rows": [...]}``,
        each row as :meth:`DayTrend.to_json_dict` (``date`` ISO 8601)."""
        return {
            "today": self.today.isoformat(),
            "days": self.days,
            "goal_min": self.goal_min,
            "days_goal_met": self.days_goal_met,
            "practice_min_total": self.practice_min_total,
            "n_simulated_left_out": self.n_simulated,
            "rows": [r.to_json_dict() for r in self.rows],
        }


def session_date(start_wall: str) -> date:
    """The calendar date of a stored start time, on the clock where it was recorded."""
    return datetime.fromisoformat(start_wall).date()


def _baseline_ln_rmssd(session: StoredSession) -> float | None:
    from biofeedback.hrv.time_domain import time_domain
    from sessions.compare import session_beats

    beats = session_beats(session)
    base = beats.phase("baseline") if beats.has_phases else None
    if base is None or base.data_s < MIN_BASELINE_S:
        return None
    td = time_domain(base.rr_ms, base.valid, base.breaks, si_bin_ms=beats.settings.si_bin_ms)
    return finite_or_none(td.ln_rmssd)


def _practice_s(session: SessionOutline) -> float:
    """Practice time actually recorded: each practice phase cut at the last beat, minus the gaps
    (strap out of range, contact lost) inside it. A session stopped early counts what it recorded."""
    last_beat_s = session.last_beat_s
    if last_beat_s is None:
        return 0.0
    gaps = [g.gap for g in session.gaps]
    total = 0.0
    for p in session.phases:
        if p.name != "practice":
            continue
        start = p.start_s
        end = min(p.end_s, last_beat_s)  # a phase never closed ends at the last beat already
        if end <= start:
            continue
        lost = sum(max(0.0, min(end, g.end_s) - max(start, g.start_s)) for g in gaps)
        total += max(0.0, end - start - lost)
    return total


def daily_trends(store: Store, days: int, today: date | None = None) -> Trends:
    """One :class:`DayTrend` per day of the ``days`` days ending ``today`` (oldest first).

    ``today`` defaults to the date of the most recent session (this function never reads the
    clock; the CLI passes the current date). Sessions up to 6 days before the first row are read
    too, for the rolling window.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    infos = store.list_sessions()
    by_day: dict[date, list[Any]] = {}
    simulated_days: list[date] = []
    for info in infos:
        if info.simulated:  # a demo is not the user's practice
            simulated_days.append(session_date(info.start_wall))
            continue
        by_day.setdefault(session_date(info.start_wall), []).append(info)
    if today is None:
        today = max(by_day) if by_day else date(1970, 1, 1)
    first = today - timedelta(days=days - 1)
    n_simulated = sum(1 for d in simulated_days if first <= d <= today)
    read_from = first - timedelta(days=ROLLING_DAYS - 1)

    daily_ln: dict[date, tuple[float | None, int]] = {}
    practice_s: dict[date, float] = {}
    for day, sessions in by_day.items():
        if not read_from <= day <= today:
            continue
        values = []
        for info in sessions:
            session = read_session(store, info.id)  # read once: the baseline's beats and the practice phases
            v = _baseline_ln_rmssd(session)
            if v is not None:
                values.append(v)
            practice_s[day] = practice_s.get(day, 0.0) + _practice_s(session)
        daily_ln[day] = (sum(values) / len(values) if values else None, len(values))

    rows = []
    for k in range(days):
        day = first + timedelta(days=k)
        window: list[float] = [ln for d in (day - timedelta(days=j) for j in range(ROLLING_DAYS))
                               if d in daily_ln and (ln := daily_ln[d][0]) is not None]
        mean = cv = None
        reason = None
        if len(window) >= MIN_ROLLING_DAYS:
            mean = sum(window) / len(window)
            sd = math.sqrt(sum((x - mean) ** 2 for x in window) / (len(window) - 1))
            cv = 100.0 * sd / mean if mean != 0 else None
            if cv is None:
                reason = "mean lnRMSSD is 0: no coefficient of variation"
        else:
            reason = (f"{len(window)} day(s) with a baseline in the 7 days ending here; "
                      f"a rolling mean needs >= {MIN_ROLLING_DAYS}")
        value, n_base = daily_ln.get(day, (None, 0))
        minutes = practice_s.get(day, 0.0) / 60.0
        rows.append(DayTrend(
            day=day,
            n_sessions=len(by_day.get(day, ())),
            baseline_ln_rmssd=value,
            n_baselines=n_base,
            rolling_mean_7d=mean,
            cv_7d_pct=cv,
            n_days_7d=len(window),
            rolling_reason=reason,
            practice_min=minutes,
            goal_met=minutes >= DAILY_GOAL_MIN,
        ))
    return Trends(today=today, days=days, goal_min=DAILY_GOAL_MIN, rows=tuple(rows), n_simulated=n_simulated)

"""Reconstruct beat times from Heart Rate Measurement notifications (pure; no clock reads).

A chest strap sends a notification about once a second carrying the RR intervals of the beats it
detected since the previous one (0 to ~4 values) and no beat timestamps. The phone only knows when
each notification *arrived*. :class:`BeatTimer` turns ``(arrival_s, measurement)`` pairs into
:class:`~biofeedback.beat.Beat` values with a reconstructed time ``t_s`` and explicit
:class:`~biofeedback.beat.Gap` values where notifications were lost or the link dropped.

Model
-----
Let ``c_j`` be the running sum of RR intervals (seconds) since the last anchor, so the strap's own
beat clock says beat ``j`` happened at ``c_j + offset``. For notification ``k`` arriving at ``a_k``
whose last beat is ``j_k`` let ``o_k = a_k - c_{j_k}``: the latest offset consistent with that beat
having happened by its arrival. The timer keeps one ``offset`` such that

* every beat is timed at or before the arrival of its notification (``offset <= o_k``): the beat
  clock never runs ahead of arrival. When a notification would put its last beat after its
  arrival, the offset is pulled back to ``o_k`` (the beats are back-dated from the arrival);
* successive beats are spaced exactly by their RR (``t_j = t_{j-1} + rr_j``) while the offset does
  not change, i.e. almost always (see *drift* below);
* on the first notification and after every gap the offset is re-anchored at ``o_k``: the last beat
  of the notification is put at its arrival and the others back-dated by their RR. The
  reconstruction is therefore "the latest beat times consistent with every arrival since the
  anchor"; the true times are earlier by the notification latency (up to ~one notification period).

Lost notifications
------------------
All beats of a notification were detected after the previous notification was sent, so even its
*first* beat is at most ``MAX_LAG_S`` before its arrival. If the continuous clock puts the first beat
earlier than that, RR time is missing (the arrival advanced much more than the RR sum): the timer
emits ``Gap(start_s=<last beat before>, end_s=<start of the first received interval>,
reason="lost_notifications")`` and re-anchors. No beat is invented. A loss of less RR time than the
slack in ``MAX_LAG_S`` is caught at the first later notification whose lag exceeds the bound.
(A BLE stack that holds notifications back and then delivers them in a burst looks the same as a
loss and produces a gap; the following burst notifications are absorbed by back-dating.)

Clock drift
-----------
The strap measures RR with its own crystal; arrival times come from the phone's monotonic clock.
Crystals differ by tens of ppm (±50 ppm each is typical, so up to 100 ppm, 0.36 s an hour), and
straps that round RR to whole ms (as some apps log it) add up to +500 ppm. Drift is absorbed:

* strap clock slower than the phone's RR sum (beat clock runs ahead): the "never after arrival"
  pull-back above absorbs it in small steps as it happens;
* beat clock falling behind arrivals: when the *smallest* lag over the last ``DRIFT_WINDOW_S``
  exceeds ``DRIFT_SLACK_S`` (in a healthy stream some notification arrives just after its beat, so
  the floor of the lag is the latency), the offset creeps forward at no more than
  ``MAX_CREEP_RATE`` seconds per second. That is fast enough for any real crystal and slow enough
  that a lost beat (>= 0.25 s) is not crept away before the lag bound catches it.

Only at a pull-back or a creep step does ``t_j - t_{j-1}`` differ from ``rr_j`` (by the step).
If a burst carries more RR time than elapsed since the previous beat, the notification's beats are
spaced proportionally between the previous beat and the arrival so that beat times stay
increasing (``stats.compressed`` counts these).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from biofeedback.beat import Beat, Gap
from devices.hrm_parser import TICKS_PER_SECOND, HeartRateMeasurement

__all__ = [
    "NOTIFICATION_PERIOD_S",
    "LATENCY_JITTER_S",
    "DETECTION_DELAY_S",
    "MAX_LAG_S",
    "DRIFT_WINDOW_S",
    "DRIFT_SLACK_S",
    "MAX_CREEP_RATE",
    "LOST_NOTIFICATIONS",
    "DISCONNECT",
    "BeatTimer",
    "BeatTimerStats",
]

#: A burst is squeezed between the last beat and its arrival only when that leaves the beats at least
#: half their RR apart; with less room (notifications delivered at one instant) spacing by RR wins.
MIN_SQUEEZE = 0.5

#: A strap notifies about once a second (Polar H10, Garmin HRM, Wahoo TICKR: 1 Hz).
NOTIFICATION_PERIOD_S = 1.0
#: Delivery jitter: a notification waits for the next BLE connection event (intervals 7.5-50 ms on
#: phones, up to ~100 ms on desktops with slave latency), may be retransmitted once, and the OS
#: schedules the callback: 0.1 s covers all of it.
LATENCY_JITTER_S = 0.1
#: Time between an R peak and the notification that first could carry it: QRS detection plus the
#: strap's reporting delay. The Polar H10 recording in ../shared/data shows beats reported up to
#: 1.34 s before arrival (period 1 s + ~0.34 s); 0.4 s leaves margin.
DETECTION_DELAY_S = 0.4
#: The earliest a beat can be relative to the arrival of the notification carrying it.
MAX_LAG_S = NOTIFICATION_PERIOD_S + DETECTION_DELAY_S + LATENCY_JITTER_S  # 1.5 s
#: Window for the lag floor used by the drift creep (about 60 notifications: long enough for the
#: beat phase to sweep the notification period, so the floor is the latency).
DRIFT_WINDOW_S = 60.0
#: A lag floor above this (the latency jitter) means the beat clock is behind.
DRIFT_SLACK_S = 0.1
#: Largest forward correction rate: 2000 ppm, 20 times the worst crystal mismatch (100 ppm).
#: A lost beat of >= 0.25 s would take >= 125 s to creep away; the lag bound catches it first.
MAX_CREEP_RATE = 2e-3

LOST_NOTIFICATIONS = "lost_notifications"
DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class BeatTimerStats:
    """Counters of what the timer did (for logs and tests)."""

    notifications: int = 0
    beats: int = 0
    gaps: int = 0
    pulled_back_s: float = 0.0  # total backward correction (beat clock ahead of arrival)
    crept_s: float = 0.0  # total forward correction (beat clock behind arrival)
    compressed: int = 0  # notifications whose beats had to be squeezed before their arrival


class BeatTimer:
    """Turns notifications into timed beats and explicit gaps. Pure: the arrival time is an argument.

    >>> from devices.hrm_parser import parse_heart_rate_measurement as parse
    >>> timer = BeatTimer()
    >>> [round(b.t_s, 6) for b in timer.push(10.0, parse(bytes.fromhex("104ed202c802")))]
    [9.304688, 10.0]
    """

    def __init__(self) -> None:
        self._anchored = False
        self._offset_s = 0.0  # beat time = cum_s + offset_s
        self._cum_s = 0.0  # RR sum since the anchor, seconds
        self._last_t_s = 0.0  # time of the last emitted beat
        self._last_arrival_s: float | None = None
        self._window: deque[tuple[float, float]] = deque()  # (arrival_s, o_k)
        self._pending_gap: tuple[float, str] | None = None
        self._stats = BeatTimerStats()

    # ------------------------------------------------------------------ public API

    @property
    def stats(self) -> BeatTimerStats:
        return self._stats

    @property
    def last_beat_s(self) -> float | None:
        """Reconstructed time of the last beat emitted, ``None`` before the first beat."""
        return self._last_t_s if self._anchored else None

    def push(self, arrival_s: float, measurement: HeartRateMeasurement) -> list[Beat | Gap]:
        """Time the RR values of one notification that arrived at ``arrival_s`` (session seconds).

        Returns the new items in time order: possibly one :class:`Gap` first, then one
        :class:`Beat` per RR value (none for a notification without RR values).
        """
        ticks = measurement.rr_ticks_1024
        rr_ms = [t * 1000.0 / TICKS_PER_SECOND for t in ticks]
        return self._push(arrival_s, rr_ms, list(ticks), measurement.contact_detected)

    def push_rr_ms(
        self, arrival_s: float, rr_ms: Sequence[float], *, contact: bool | None = None
    ) -> list[Beat | Gap]:
        """Like :meth:`push` for RR already in milliseconds (e.g. a log of arrival times and IBIs);
        the beats carry ``rr_ticks_1024=None``."""
        return self._push(arrival_s, [float(r) for r in rr_ms], [None] * len(rr_ms), contact)

    def mark_disconnected(self, t_s: float, reason: str = DISCONNECT) -> None:
        """Note that the link dropped at ``t_s``. The next notification with RR values starts with
        ``Gap(start_s=<last beat>, end_s=<start of its first interval>, reason)`` and re-anchors the
        beat clock (nothing is emitted if no beat was timed before the disconnect)."""
        if self._pending_gap is None:
            self._pending_gap = (t_s, reason)

    # ------------------------------------------------------------------ internals

    def _push(
        self, arrival_s: float, rr_ms: list[float], ticks: list[int | None], contact: bool | None
    ) -> list[Beat | Gap]:
        a = float(arrival_s)
        if self._last_arrival_s is not None and a < self._last_arrival_s:
            raise ValueError(f"arrival times must not go backwards: {a} after {self._last_arrival_s}")
        for r in rr_ms:
            if not r > 0:
                raise ValueError(f"RR intervals must be > 0 ms, got {r}")
        prev_arrival = self._last_arrival_s
        self._last_arrival_s = a
        st = self._stats
        notifications = st.notifications + 1
        if not rr_ms:
            self._stats = _replace(st, notifications=notifications)
            return []

        out: list[Beat | Gap] = []
        rr_s = [r / 1000.0 for r in rr_ms]
        total_s = sum(rr_s)
        gaps, pulled, crept, compressed = st.gaps, st.pulled_back_s, st.crept_s, st.compressed

        reanchor_reason: str | None = None
        if not self._anchored:
            reanchor_reason = ""  # first anchor: no gap
        elif self._pending_gap is not None:
            reanchor_reason = self._pending_gap[1]
        else:
            cum_last = self._cum_s + total_s
            o_k = a - cum_last
            # drift creep: the lag floor over the window says the beat clock is behind
            self._trim_window(a)
            if self._window and prev_arrival is not None and a - self._window[0][0] >= DRIFT_WINDOW_S / 2:
                floor_lag = min(min(o for _, o in self._window), o_k) - self._offset_s
                if floor_lag > DRIFT_SLACK_S:
                    step = min(floor_lag - DRIFT_SLACK_S, MAX_CREEP_RATE * (a - prev_arrival))
                    self._offset_s += step
                    crept += step
            first_lag = a - (self._cum_s + rr_s[0] + self._offset_s)
            if first_lag > MAX_LAG_S:
                reanchor_reason = LOST_NOTIFICATIONS

        self._pending_gap = None
        if reanchor_reason is not None:
            gap_start = self._last_t_s
            had_beats = self._anchored
            self._anchored = True
            self._cum_s = 0.0
            self._window.clear()
            self._offset_s = a - total_s
            times = self._times(rr_s, a)
            if had_beats and reanchor_reason:
                gap_end = max(gap_start, times[0] - rr_s[0])
                out.append(Gap(start_s=gap_start, end_s=gap_end, reason=reanchor_reason))
                gaps += 1
        else:
            o_k = a - (self._cum_s + total_s)
            if self._offset_s > o_k:  # would time the last beat after its arrival: pull back
                pulled += self._offset_s - o_k
                self._offset_s = o_k
            times = self._times(rr_s, a)
            if times[0] <= self._last_t_s:  # burst: more RR time than elapsed
                compressed += 1
                room = a - self._last_t_s
                if room >= MIN_SQUEEZE * total_s:  # squeeze between the last beat and the arrival
                    acc = 0.0
                    times = []
                    for r in rr_s:
                        acc += r
                        times.append(self._last_t_s + room * acc / total_s)
                    times[-1] = a
                else:
                    # Notifications delivered together (no room between arrivals): the arrival times
                    # say nothing, so the beat clock stays continuous, even past this arrival; the
                    # next notifications pull it back in steps.
                    times = self._continuous(rr_s)
                    self._offset_s = times[-1] - (self._cum_s + total_s)
        if st.beats and times[0] <= self._last_t_s:  # re-anchored onto beats already timed: never go back
            times = self._continuous(rr_s)
        self._cum_s += total_s
        self._window.append((a, a - self._cum_s))

        for r, tk, t in zip(rr_ms, ticks, times):
            out.append(Beat(rr_ms=r, t_s=t, rr_ticks_1024=tk, arrival_s=a, contact=contact))
        self._last_t_s = times[-1]
        self._stats = BeatTimerStats(
            notifications=notifications,
            beats=st.beats + len(rr_ms),
            gaps=gaps,
            pulled_back_s=pulled,
            crept_s=crept,
            compressed=compressed,
        )
        return out

    def _continuous(self, rr_s: list[float]) -> list[float]:
        """Times spaced exactly by RR after the last timed beat."""
        times, t = [], self._last_t_s
        for r in rr_s:
            t += r
            times.append(t)
        return times

    def _times(self, rr_s: list[float], a: float) -> list[float]:
        times = []
        cum = self._cum_s
        for r in rr_s:
            cum += r
            times.append(min(cum + self._offset_s, a))
        return times

    def _trim_window(self, a: float) -> None:
        while self._window and a - self._window[0][0] > DRIFT_WINDOW_S:
            self._window.popleft()


def _replace(stats: BeatTimerStats, **changes: float) -> BeatTimerStats:
    from dataclasses import replace

    return replace(stats, **changes)  # type: ignore[arg-type]

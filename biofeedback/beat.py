"""Frozen value types that flow from a heart-rate source into the HRV core.

Times are seconds (``*_s``) since the start of the session, taken from a monotonic clock; the
session keeps one wall-clock anchor (see :mod:`devices.clock`). RR intervals are milliseconds
(``rr_ms``), kept exactly as the strap sent them: for a BLE strap ``rr_ms = rr_ticks_1024 * 1000 / 1024``,
never rounded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Beat:
    """One RR interval, ending at the heartbeat at ``t_s``.

    Attributes
    ----------
    rr_ms:
        The interval from the previous beat to this one, in milliseconds (exact, not rounded).
    t_s:
        Reconstructed time of this beat (the R peak that ends the interval), seconds since session
        start. Successive beats without a :class:`Gap` between them satisfy
        ``t_s[i] - t_s[i-1] == rr_ms[i] / 1000`` up to floating-point rounding.
    rr_ticks_1024:
        The raw value from the Heart Rate Measurement characteristic in 1/1024 s, when the beat came
        from a strap (``None`` for imported or simulated millisecond data).
    arrival_s:
        Monotonic arrival time of the notification that carried the beat, seconds since session start
        (``None`` when not applicable, e.g. imported files).
    contact:
        Skin contact as reported by the strap (``None`` when the strap does not report it).
    """

    rr_ms: float
    t_s: float
    rr_ticks_1024: int | None = None
    arrival_s: float | None = None
    contact: bool | None = None

    @property
    def hr_bpm(self) -> float:
        """Instantaneous heart rate of this interval, 60000 / rr_ms, in beats per minute."""
        return 60000.0 / self.rr_ms


@dataclass(frozen=True, slots=True)
class Gap:
    """An explicit stretch without beats (strap dropout, lost notifications, contact loss).

    No successive difference is ever formed across a gap: the first beat after a gap starts a new
    run. ``start_s`` is the time of the last beat before the gap (or the moment data stopped),
    ``end_s`` the time data resumed; ``reason`` is a short machine-readable word such as
    ``"disconnect"``, ``"lost_notifications"``, ``"contact_lost"``.
    """

    start_s: float
    end_s: float
    reason: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

"""A seeded, deterministic, physiologically plausible RR-interval simulator.

Three layers, each usable alone:

* :class:`RRSimulator` -- pure generator (no clock): ``next_beat()`` returns the next reported beat
  (:class:`SimulatedBeat`) with its time, RR interval, label and skin contact.
* :class:`SimulatorSource` -- a :class:`devices.source.HeartRateSource`: sleeps on an injected
  :class:`devices.clock.Clock` until each beat and yields ``Beat`` / ``Gap`` / ``DeviceEvent`` as a
  strap would (a :class:`devices.clock.VirtualClock` runs it as fast as possible).
* :func:`iter_notifications` -- groups the beats into Heart Rate Measurement notifications (payload
  bytes from :mod:`devices.hrm_parser` and arrival times), to drive a virtual BLE strap.

The model (sum of components evaluated at each beat, see ``docs/simulator.md``)::

    RR_n = 60000 / (HR0 - dHR * x(t))                       baseline, relaxation lowers HR
         + V(t)                                              slow drift (Ornstein-Uhlenbeck, VLF)
         + A_rsa * G(f_b) * (1 + g_vagal * x(t)) * cos(2 pi phase(t))   RSA, follows the breathing
         + A_mayer * (1 - 0.3 x(t)) * sin(2 pi 0.1 t + phi(t))        Mayer waves (~0.1 Hz baroreflex)
         + e_n * (1 + g_vagal * x(t)),   e_n ~ N(0, s_noise)            beat-to-beat vagal noise

evaluated at the previous beat time ``t``, then ``t += RR_n``. ``G(f)`` is a resonance gain that
peaks at 0.1 Hz (after Vaschillo et al. 2002, 2006; Lehrer & Gevirtz 2014) and ``x(t)`` the
relaxation state, a first-order response (time constant ``tau_s``) to ``practice_active(t)``.
The spectral shape (LF peak ~0.1 Hz, HF peak at the breathing rate) follows McSharry et al. 2003,
IEEE TBME 50(3):289, doi:10.1109/TBME.2003.808805.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, repeat
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from biofeedback.beat import Beat, Gap
from biofeedback.frozen import positional_builder
from devices.clock import Clock, RealClock, VirtualClock
from devices.hrm_parser import TICKS_PER_SECOND, encode_heart_rate_measurement
from biofeedback.events import ContactLost, ContactRegained, Disconnected
from devices.source import DeviceInfo, SourceItem

__all__ = [
    "Profile",
    "PROFILES",
    "RESONANCE_HZ",
    "resonance_gain",
    "resonance_response",
    "RESONANCE_Q",
    "SimulatedBeat",
    "RRSimulator",
    "SimulatorSource",
    "Notification",
    "iter_notifications",
    "NORMAL",
    "ECTOPIC",
    "COMPENSATORY",
    "MISSED",
]

# Beat labels.
NORMAL = "normal"
ECTOPIC = "ectopic"  # premature beat (short interval)
COMPENSATORY = "compensatory"  # the long interval after a premature beat
MISSED = "missed"  # the strap missed a beat: the reported interval spans two

#: Centre of the cardiovascular resonance (baroreflex loop), Hz: 6 breaths/min, Vaschillo et al. 2002.
RESONANCE_HZ = 0.1
#: RSA gain at resonance relative to far from it (RSA amplitude at 6/min is ~2-4 x that at 15/min).
RESONANCE_PEAK_GAIN = 3.0
#: Half-width of the resonance peak, Hz (the gain is halfway down at 0.1 +- 0.035 Hz, i.e. 4-8 /min).
RESONANCE_HALF_WIDTH_HZ = 0.035
#: Mayer-wave centre frequency, Hz.
MAYER_HZ = 0.1
#: Phase diffusion of the Mayer wave, rad / sqrt(s): a narrow band (~0.01 Hz wide) around 0.1 Hz.
MAYER_PHASE_DIFFUSION = 0.3
#: Correlation time of the slow drift (VLF), seconds.
DRIFT_TAU_S = 40.0
#: Physiological limits on a simulated interval, ms (200 and 30 bpm).
RR_MIN_MS, RR_MAX_MS = 300.0, 2000.0


@dataclass(frozen=True, slots=True)
class Profile:
    """Physiological parameters of one simulated person.

    ``hr_range_bpm`` is the range the mean heart rate of a 5-minute rest stays in (checked by tests);
    amplitudes are in ms (``rsa_amplitude_ms`` is half the peak-to-trough RSA far from resonance);
    ``breaths_per_min`` is spontaneous breathing when no pacer is given; the relaxation response
    lowers HR by ``relax_hr_drop_bpm`` and multiplies vagal components by ``1 + relax_vagal_gain``
    with time constant ``relax_tau_s``.
    """

    name: str
    mean_hr_bpm: float
    hr_range_bpm: tuple[float, float]
    breaths_per_min: float
    rsa_amplitude_ms: float
    mayer_amplitude_ms: float
    drift_sd_ms: float
    noise_sd_ms: float
    relax_hr_drop_bpm: float
    relax_vagal_gain: float
    relax_tau_s: float


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "rest": Profile("rest", 68.0, (62.0, 74.0), 14.0, 22.0, 14.0, 20.0, 10.0, 4.0, 0.6, 90.0),
        "anxious": Profile("anxious", 86.0, (80.0, 92.0), 18.0, 9.0, 10.0, 12.0, 5.0, 6.0, 0.5, 120.0),
        "athlete": Profile("athlete", 52.0, (47.0, 57.0), 12.0, 45.0, 20.0, 30.0, 18.0, 3.0, 0.5, 60.0),
    }
)


def resonance_gain(breathing_hz: float) -> float:
    """Gain of RSA amplitude at breathing frequency ``f`` (dimensionless, 1 far from resonance)::

        G(f) = 1 + (G_peak - 1) / (1 + ((f - 0.1 Hz) / 0.035 Hz)^2),   G_peak = 3

    A Lorentzian resonance peak at 0.1 Hz (Vaschillo et al. 2002, Appl Psychophysiol Biofeedback
    27(1):1-27, doi:10.1023/A:1014587304314; Lehrer & Gevirtz 2014, Front Psychol 5:756,
    doi:10.3389/fpsyg.2014.00756).
    """
    return 1.0 + (RESONANCE_PEAK_GAIN - 1.0) / (1.0 + ((breathing_hz - RESONANCE_HZ) / RESONANCE_HALF_WIDTH_HZ) ** 2)


#: Quality factor of a person's resonance when the simulator is given ``resonance_bpm``: the RSA gain is
#: halfway between its peak and 1 where ``Q * |f/f0 - f0/f| = 1``, i.e. about f0 +- 16 % (5.5/min:
#: 4.7-6.4/min); far from resonance (15/min) the gain is ~1.1, a 2.7-fold RSA increase at f0 as in
#: Vaschillo et al. 2002 / Lehrer et al. 2020.
RESONANCE_Q = 3.0


def resonance_response(breathing_hz: float, resonance_hz: float, q: float = RESONANCE_Q) -> tuple[float, float]:
    """``(gain, phase_rad)`` of the RSA of a person resonating at ``resonance_hz``, at breathing ``f``::

        x = Q (f / f0 - f0 / f)
        G(f) = 1 + (G_peak - 1) / (1 + x^2),     phase(f) = -atan(x)

    The gain of a band-pass (second-order) resonator, squared so that the peak stands out like the
    measured RSA-vs-rate curves (Vaschillo et al. 2002, 2006), and its phase: heart rate leads the
    breathing below resonance (phase > 0), is in phase at it and lags above it (Vaschillo et al. 2002,
    doi:10.1023/A:1014587304314; Lehrer & Gevirtz 2014, doi:10.3389/fpsyg.2014.00756).

    >>> g, ph = resonance_response(5.5 / 60, 5.5 / 60); round(g, 6), round(ph, 6)
    (3.0, 0.0)
    >>> g, ph = resonance_response(5.0 / 60, 5.5 / 60); round(g, 2), ph > 0
    (2.49, True)
    """
    if not (breathing_hz > 0 and resonance_hz > 0):
        return 1.0, 0.0
    x = q * (breathing_hz / resonance_hz - resonance_hz / breathing_hz)
    return 1.0 + (RESONANCE_PEAK_GAIN - 1.0) / (1.0 + x * x), -math.atan(x)


@dataclass(frozen=True, slots=True)
class SimulatedBeat:
    """One reported beat: interval ``rr_ms`` ending at ``t_s`` (seconds since the simulator's start).

    ``label`` is ``"normal"``, ``"ectopic"``, ``"compensatory"`` or ``"missed"`` (ground truth for
    artifact detection); ``contact`` is False while the simulated strap has lost skin contact (a strap
    reports no RR then); ``rr_ticks_1024`` is set when the simulator quantises like a strap.
    """

    t_s: float
    rr_ms: float
    label: str = NORMAL
    contact: bool = True
    rr_ticks_1024: int | None = None


BreathingInput = float | Callable[[float], float] | None


class RRSimulator:
    """Pure, seeded RR generator: the same arguments always give the same beats.

    Parameters
    ----------
    seed:
        Seed of the random generator (numpy PCG64; independent streams for physiology, ectopic
        beats, missed beats and contact loss, so enabling artifacts leaves the physiology unchanged).
    profile:
        A name in :data:`PROFILES` or a :class:`Profile`.
    breathing:
        ``None`` (spontaneous breathing at the profile's rate), breaths per minute (float), or a
        function ``phase(t_s) -> [0, 1)`` of time (0 = start of inhalation), e.g. a pacer.
    practice_active:
        ``practice_active(t_s) -> bool``: True while the person practises (drives the relaxation
        response). ``None`` = never.
    ectopic_rate, missed_rate:
        Probability per reported beat of a premature (ectopic) beat / of a missed beat.
    contact_loss_per_hour, contact_loss_s:
        Mean rate of skin-contact losses and their mean duration (uniform 0.5-1.5 x the mean).
    quantise_ticks:
        Quantise every interval to 1/1024 s like a BLE strap (``rr_ticks_1024`` set, ``rr_ms`` exact).
    resonance_bpm:
        ``None`` (default): the population resonance of :func:`resonance_gain` (0.1 Hz, no phase lag).
        A rate in breaths/min: this person resonates there (:func:`resonance_response`: gain and HR
        phase relative to the breathing), and the Mayer wave (the same baroreflex loop) sits there too.
    noise_scale:
        Multiplies the beat-to-beat noise (1 = the profile's; a poor-signal person: 4 or more).
    """

    def __init__(
        self,
        seed: int,
        profile: str | Profile = "rest",
        *,
        breathing: BreathingInput = None,
        practice_active: Callable[[float], bool] | None = None,
        ectopic_rate: float = 0.0,
        missed_rate: float = 0.0,
        contact_loss_per_hour: float = 0.0,
        contact_loss_s: float = 8.0,
        quantise_ticks: bool = False,
        resonance_bpm: float | None = None,
        noise_scale: float = 1.0,
    ):
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown simulator profile {profile!r}; choose from {', '.join(PROFILES)}")
            profile = PROFILES[profile]
        for name, rate in (("ectopic_rate", ectopic_rate), ("missed_rate", missed_rate)):
            if not 0.0 <= rate < 0.5:
                raise ValueError(f"{name} must be in [0, 0.5), got {rate}")
        if contact_loss_per_hour < 0 or contact_loss_s <= 0:
            raise ValueError("contact_loss_per_hour must be >= 0 and contact_loss_s > 0")
        self.seed = int(seed)
        self.profile = profile
        self.ectopic_rate = float(ectopic_rate)
        self.missed_rate = float(missed_rate)
        self.contact_loss_per_hour = float(contact_loss_per_hour)
        self.contact_loss_s = float(contact_loss_s)
        self.quantise_ticks = bool(quantise_ticks)
        if resonance_bpm is not None and not (math.isfinite(resonance_bpm) and 1.0 <= resonance_bpm <= 30.0):
            raise ValueError(f"resonance_bpm must be 1-30 breaths/min, got {resonance_bpm}")
        if not (math.isfinite(noise_scale) and noise_scale >= 0):
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
        self.resonance_bpm = resonance_bpm
        self._resonance_hz = None if resonance_bpm is None else float(resonance_bpm) / 60.0
        self._mayer_hz = MAYER_HZ if self._resonance_hz is None else self._resonance_hz
        self._noise_scale = float(noise_scale)
        self._practice = practice_active
        if breathing is None:
            breathing = profile.breaths_per_min
        if callable(breathing):
            self._phase: Callable[[float], float] = breathing
            self._fixed_hz: float | None = None
        else:
            if not breathing > 0:
                raise ValueError(f"breaths per minute must be > 0, got {breathing}")
            hz = float(breathing) / 60.0
            self._fixed_hz = hz
            self._phase = lambda t: (t * hz) % 1.0

        phys, ect, miss, contact = np.random.SeedSequence(self.seed).spawn(4)
        self._rng = np.random.Generator(np.random.PCG64(phys))
        self._rng_ectopic = np.random.Generator(np.random.PCG64(ect))
        self._rng_missed = np.random.Generator(np.random.PCG64(miss))
        self._rng_contact = np.random.Generator(np.random.PCG64(contact))

        self._t_s = 0.0  # time of the last (physiological) beat
        self._relax = 0.0  # relaxation state x in [0, 1]
        self._drift_ms = float(self._rng.normal(0.0, profile.drift_sd_ms))
        self._mayer_phase = float(self._rng.uniform(0.0, 2 * math.pi))
        # Per-beat draws, taken from the same generators in blocks (see _draws: the same numbers).
        self._normal = _draws(self._rng.standard_normal)
        self._ectopic_u = _draws(self._rng_ectopic.random)
        self._missed_u = _draws(self._rng_missed.random)
        self._breath_hz = self._fixed_hz if self._fixed_hz is not None else self._instant_hz(0.0)
        # The model's constants, read once a beat (the same numbers as the expressions they stand for).
        self._mayer_rad_per_s = 2 * math.pi * self._mayer_hz  # evaluated as (2 pi) f, as 2 * math.pi * f * t
        self._fixed_response: tuple[float, float] | None = None  # (gain, lead) of a fixed breathing rate
        if self._fixed_hz is not None:
            self._fixed_response = ((resonance_gain(self._fixed_hz), 0.0) if self._resonance_hz is None
                                    else resonance_response(self._fixed_hz, self._resonance_hz))
        self._pending_compensatory_ms: float | None = None
        self._contact_until_s = -1.0  # contact lost until this time
        self._last_contact_check_s = 0.0
        self._lookahead: SimulatedBeat | None = None

    # ------------------------------------------------------------------ public

    @property
    def t_s(self) -> float:
        """Time of the last beat generated, seconds since the simulator's start."""
        return self._t_s

    @property
    def relaxation(self) -> float:
        """The relaxation state ``x`` in [0, 1] (0 at rest, towards 1 after minutes of practice)."""
        return self._relax

    def next_beat(self) -> SimulatedBeat:
        """Generate the next reported beat."""
        return _new_simulated_beat(*self._next())

    def _next(self) -> tuple[float, float, str, bool, int | None]:
        """The next reported beat as the fields of :class:`SimulatedBeat` in order (``next_beat`` without
        the object: :class:`SimulatorSource` reads the fields)."""
        if self._pending_compensatory_ms is not None:
            rr = self._pending_compensatory_ms
            self._pending_compensatory_ms = None
            return self._emit(rr, COMPENSATORY)
        t = self._t_s
        rr = self._sinus_rr_ms(t)
        if self.ectopic_rate and self._ectopic_u() < self.ectopic_rate:
            # The premature beat replaces the sinus beat at t + rr (refractory); the next sinus beat
            # comes one more interval later: a full compensatory pause.
            premature = rr * (0.55 + (0.75 - 0.55) * self._ectopic_u())  # rng.uniform(0.55, 0.75)
            self._pending_compensatory_ms = rr + self._sinus_rr_ms(t + rr / 1000.0) - premature
            return self._emit(premature, ECTOPIC)
        if self.missed_rate and self._missed_u() < self.missed_rate:
            # The strap does not detect the beat at t + rr: the reported interval spans two.
            return self._emit(rr + self._sinus_rr_ms(t + rr / 1000.0), MISSED)
        return self._emit(rr, NORMAL)

    def __iter__(self) -> Iterator[SimulatedBeat]:
        while True:
            yield self.next_beat()

    def beats_until(self, end_s: float) -> list[SimulatedBeat]:
        """All further beats with ``t_s <= end_s`` (the first beat beyond is generated and kept)."""
        out: list[SimulatedBeat] = []
        while True:
            if self._lookahead is None:
                self._lookahead = self.next_beat()
            if self._lookahead.t_s > end_s:
                return out
            out.append(self._lookahead)
            self._lookahead = None

    # ------------------------------------------------------------------ model

    def _instant_hz(self, t: float) -> float:
        """Breathing frequency from the phase function: phase advance over 0.25 s."""
        dt = 0.25
        dphi = (self._phase(t + dt) - self._phase(t)) % 1.0
        return dphi / dt

    def _sinus_rr_ms(self, t: float) -> float:
        """One sinus interval starting at ``t`` (advances the slow processes over it).

        The model of the module docstring, term by term; a phase function of time (``breathing``) is
        called once at ``t``, once at ``t + 0.25`` (the breathing rate, :meth:`_instant_hz`) and, for a
        person with a resonance of their own, once at the middle of the interval."""
        p = self.profile
        x = self._relax
        hr0 = p.mean_hr_bpm - p.relax_hr_drop_bpm * x
        vagal = 1.0 + p.relax_vagal_gain * x
        phase = self._phase
        resonance_hz = self._resonance_hz
        response = self._fixed_response
        if response is None:  # smooth the instantaneous breathing rate (about 10 s)
            phase_t = phase(t)
            breath_hz = self._breath_hz
            # _instant_hz(t), with the phase at t kept for the RSA below
            breath_hz += ((phase(t + 0.25) - phase_t) % 1.0 / 0.25 - breath_hz) * 0.1
            self._breath_hz = breath_hz
            if resonance_hz is None:
                gain, lead = resonance_gain(breath_hz), 0.0
            else:
                gain, lead = resonance_response(breath_hz, resonance_hz)
        else:  # a fixed rate: a constant gain and phase
            gain, lead = response
            phase_t = None
        # With a person's own resonance the breathing acts at the middle of the interval (the vagal
        # effect on the interval in progress), so the HR of an interval, placed at its midpoint, is in
        # phase with the breathing at resonance.
        if resonance_hz is not None:
            phase_rsa = phase(t + 30.0 / hr0)
        elif phase_t is not None:
            phase_rsa = phase_t
        else:
            phase_rsa = phase(t)
        rsa = p.rsa_amplitude_ms * gain * vagal * _cos(_TWO_PI * phase_rsa + lead)
        mayer = p.mayer_amplitude_ms * (1.0 - 0.3 * x) * _sin(self._mayer_rad_per_s * t + self._mayer_phase)
        normal = self._normal
        noise = (0.0 + p.noise_sd_ms * normal()) * vagal  # rng.normal(0.0, sd): loc + scale * z
        if self._noise_scale != 1.0:
            noise *= self._noise_scale
        rr = 60000.0 / hr0 + self._drift_ms + rsa + mayer + noise
        # min(RR_MAX_MS, max(RR_MIN_MS, rr)), NaN included (max keeps its first argument unless the
        # second is greater, min unless it is smaller)
        if not rr > RR_MIN_MS:
            rr = RR_MIN_MS
        if not rr < RR_MAX_MS:
            rr = RR_MAX_MS
        dt = rr / 1000.0
        a = _exp(-dt / DRIFT_TAU_S)
        self._drift_ms = self._drift_ms * a + p.drift_sd_ms * _sqrt(1.0 - a * a) * (0.0 + normal())
        self._mayer_phase += MAYER_PHASE_DIFFUSION * _sqrt(dt) * (0.0 + normal())
        practice = self._practice
        target = 1.0 if (practice is not None and practice(t)) else 0.0
        self._relax = x + (target - x) * (1.0 - _exp(-dt / p.relax_tau_s))
        return rr

    def _emit(self, rr_ms: float, label: str) -> tuple[float, float, str, bool, int | None]:
        ticks = None
        if self.quantise_ticks:
            ticks = round(rr_ms * TICKS_PER_SECOND / 1000.0)  # an int (a NaN or an infinity raises)
            if ticks < 1:
                ticks = 1
            rr_ms = ticks * 1000.0 / TICKS_PER_SECOND
        t = self._t_s = self._t_s + rr_ms / 1000.0
        if t < self._contact_until_s:  # _contact_at(t), its first answers without a call
            return t, rr_ms, label, False, ticks
        if not self.contact_loss_per_hour:
            return t, rr_ms, label, True, ticks
        return t, rr_ms, label, self._contact_at(t), ticks

    def _contact_at(self, t: float) -> bool:
        """Skin contact at ``t``; losses start as a Poisson process at ``contact_loss_per_hour``."""
        if t < self._contact_until_s:
            return False
        if self.contact_loss_per_hour:
            dt = max(0.0, t - self._last_contact_check_s)
            self._last_contact_check_s = t
            p = 1.0 - math.exp(-self.contact_loss_per_hour / 3600.0 * dt)
            if self._rng_contact.random() < p:
                self._contact_until_s = t + self.contact_loss_s * float(self._rng_contact.uniform(0.5, 1.5))
                return False
        return True


def _draws(draw: Callable[[int], np.ndarray], block: int = 256) -> Callable[[], float]:
    """The draws of one numpy generator taken ``block`` at a time: each call of the returned function
    gives the next one, the same number, in the same order, as one call of ``draw`` each
    (``standard_normal(n)`` and ``random(n)`` fill with the scalar draws). A scalar
    ``Generator.normal(loc, scale)`` is ``loc + scale * z`` and ``uniform(a, b)`` is ``a + (b - a) * u``
    of these draws, bit for bit; a block avoids numpy's per-call overhead (a few microseconds a draw).
    A block is drawn when the one before is used up (``tests/devices/test_simulator.py``), and its
    numbers are Python floats handed out by a C iterator."""
    blocks = map(np.ndarray.tolist, map(draw, repeat(block)))
    return chain.from_iterable(blocks).__next__


#: :class:`SimulatedBeat` from its fields in order, without the frozen dataclass's ``__init__``
#: (:func:`biofeedback.frozen.positional_builder`: the same object as ``SimulatedBeat(...)``).
_new_simulated_beat = positional_builder(SimulatedBeat)
#: :class:`~biofeedback.beat.Beat` from its fields in order, likewise (one a simulated beat).
_new_beat = positional_builder(Beat)
_TWO_PI = 2 * math.pi
_cos, _sin, _exp, _sqrt = math.cos, math.sin, math.exp, math.sqrt


class SimulatorSource:
    """A :class:`devices.source.HeartRateSource` driven by an :class:`RRSimulator`.

    It waits on ``clock`` until each beat's time and yields, in time order: a ``connected``
    :class:`DeviceEvent` at 0, then one :class:`Beat` per reported beat (``arrival_s == t_s``,
    ``rr_ticks_1024`` set when the simulator quantises), ``contact_lost`` / ``contact_regained``
    events around skin-contact losses followed by ``Gap(reason="contact_lost")`` before the first
    beat after contact returns, and a ``disconnected`` event when the stream ends. Beats whose
    interval ends after ``duration_s`` are not emitted. ``stop()`` ends the stream at the next beat.
    Times are seconds since the stream started (the clock's reading when ``stream()`` begins).

    ``beats_per_turn``: on a :class:`~devices.clock.VirtualClock` (as fast as possible), deliver up
    to this many beats per turn of the event loop: the clock is advanced to the beats in between
    without yielding to the loop (the same clock readings; other tasks, such as a Ctrl-C handler,
    run every ``beats_per_turn`` beats instead of every beat). 1 (the default) yields at every
    beat, like every other clock.
    """

    def __init__(
        self,
        simulator: RRSimulator,
        *,
        clock: Clock | None = None,
        duration_s: float | None = None,
        name: str = "Simulator",
        beats_per_turn: int = 1,
    ):
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        if not (isinstance(beats_per_turn, int) and beats_per_turn >= 1):
            raise ValueError(f"beats_per_turn must be an int >= 1, got {beats_per_turn!r}")
        self.beats_per_turn = beats_per_turn
        self.simulator = simulator
        self.clock: Clock = clock if clock is not None else RealClock()
        self.duration_s = duration_s
        self.info = DeviceInfo(
            name=name,
            manufacturer="biofeedback",
            model=f"RRSimulator profile={simulator.profile.name} seed={simulator.seed}",
            kind="simulator",
        )
        self._stopped = False

    @classmethod
    def from_profile(
        cls,
        seed: int,
        profile: str | Profile = "rest",
        *,
        clock: Clock | None = None,
        duration_s: float | None = None,
        quantise_ticks: bool = True,
        **simulator_options: object,
    ) -> "SimulatorSource":
        """Build the simulator and the source in one call (``simulator_options`` go to RRSimulator)."""
        sim = RRSimulator(seed, profile, quantise_ticks=quantise_ticks, **simulator_options)  # type: ignore[arg-type]
        return cls(sim, clock=clock, duration_s=duration_s)

    async def __aenter__(self) -> "SimulatorSource":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopped = True

    async def stream(self) -> AsyncIterator[SourceItem]:
        clock = self.clock
        t0 = clock.monotonic_s()
        yield self.info.connected(0.0)
        last_beat_s: float | None = None
        contact = True
        end_s = 0.0
        # a virtual clock may be advanced without yielding to the loop (beats_per_turn)
        catch_up = clock.catch_up if isinstance(clock, VirtualClock) and self.beats_per_turn > 1 else None
        beats_per_turn = self.beats_per_turn
        duration_s = self.duration_s
        next_values = _fields_of_next_beat(self.simulator)
        turn = 0
        while not self._stopped:
            t_s, rr_ms, _label, beat_contact, ticks = next_values()  # SimulatedBeat's fields
            if duration_s is not None and t_s > duration_s:
                end_s = duration_s
                await clock.sleep(duration_s - (clock.monotonic_s() - t0))
                break
            turn += 1
            if catch_up is not None and turn < beats_per_turn:
                catch_up(t_s, t0)  # what VirtualClock.sleep does, without yielding
            else:
                turn = 0
                await clock.sleep(t_s - (clock.monotonic_s() - t0))
            end_s = t_s
            if self._stopped:
                break
            if not beat_contact:
                if contact:
                    contact = False
                    yield ContactLost(t_s)
                continue
            if not contact:
                contact = True
                yield ContactRegained(t_s)
                if last_beat_s is not None:
                    start = last_beat_s
                    yield Gap(start_s=start, end_s=max(start, t_s - rr_ms / 1000.0), reason="contact_lost")
            yield _new_beat(rr_ms, t_s, ticks, t_s, True)  # Beat(rr_ms, t_s, rr_ticks_1024, arrival_s, contact)
            last_beat_s = t_s
        yield Disconnected(end_s, "stopped" if self._stopped else "finished")


def _fields_of_next_beat(simulator: RRSimulator) -> Callable[[], tuple[float, float, str, bool, int | None]]:
    """A function giving the fields of ``simulator.next_beat()`` in order: ``RRSimulator._next`` (no object)
    unless a subclass has its own ``next_beat``."""
    if type(simulator).next_beat is RRSimulator.next_beat:
        return simulator._next

    def next_fields() -> tuple[float, float, str, bool, int | None]:
        b = simulator.next_beat()
        return b.t_s, b.rr_ms, b.label, b.contact, b.rr_ticks_1024

    return next_fields


class Notification(NamedTuple):
    """One simulated Heart Rate Measurement notification: ``(arrival_s, payload)``."""

    arrival_s: float
    payload: bytes


def iter_notifications(
    simulator: RRSimulator,
    *,
    duration_s: float | None = None,
    period_s: float = 1.0,
    first_s: float = 1.0,
    detection_delay_s: float = 0.15,
    latency_s: tuple[float, float] = (0.005, 0.045),
    contact_supported: bool = True,
    seed: int | None = None,
) -> Iterator[Notification]:
    """Group the simulator's beats into notifications like a strap, with arrival times.

    The strap sends at ``first_s + k * period_s`` (its own clock) the RR values of the beats it
    detected since the previous notification (a beat at ``t`` is detected at
    ``t + detection_delay_s``), so a notification carries 0 to ~4 values. Each arrives after a
    latency drawn uniformly from ``latency_s`` (BLE connection-event wait), arrivals never going
    backwards. While contact is lost the contact bit is clear and no RR values are sent (a
    notification that still carries RR values from before the loss reports contact). The heart
    rate field is ``round(60000 / mean RR)`` over the last 4 beats, like a strap's smoothed HR.
    Intervals are quantised to 1/1024 s (the simulator's ticks when it quantises). Deterministic:
    the latency generator is seeded with ``seed`` (default: the simulator's seed). Ends after the
    notification at or past ``duration_s`` (never, if ``None``).
    """
    if not period_s > 0:
        raise ValueError(f"period_s must be > 0, got {period_s}")
    lo, hi = latency_s
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([simulator.seed if seed is None else seed, 1024])))
    recent: list[float] = []
    hr = int(round(simulator.profile.mean_hr_bpm))
    pending: SimulatedBeat | None = None
    last_arrival = -math.inf
    k = 0
    while True:
        send_s = first_s + k * period_s
        if duration_s is not None and send_s > duration_s + period_s:
            return
        ticks: list[int] = []
        contact = True
        while True:
            if pending is None:
                pending = simulator.next_beat()
            if pending.t_s + detection_delay_s > send_s:
                break
            beat, pending = pending, None
            contact = beat.contact
            if not beat.contact:
                continue
            tk = beat.rr_ticks_1024 if beat.rr_ticks_1024 is not None else max(1, round(beat.rr_ms * 1.024))
            ticks.append(tk)
            recent = (recent + [tk * 1000.0 / TICKS_PER_SECOND])[-4:]
        if pending is not None and pending.t_s <= send_s and not pending.contact:
            contact = False
        # RR values are only measured with contact: a notification carrying some reports contact,
        # and the loss shows from the next one.
        contact = contact or bool(ticks)
        if recent:
            hr = int(round(60000.0 / (sum(recent) / len(recent))))
        payload = encode_heart_rate_measurement(
            hr,
            ticks,
            contact_supported=contact_supported,
            contact_detected=contact if contact_supported else None,
        )
        arrival = max(last_arrival, send_s + float(rng.uniform(lo, hi)))
        last_arrival = arrival
        yield Notification(arrival, payload)
        k += 1
        if duration_s is not None and send_s >= duration_s:
            return

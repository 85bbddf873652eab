"""The streaming HRV engine: one :class:`BeatIndices` per beat, from the batch kernels.

:class:`HRVEngine` is a pure object: no I/O, no clock reads, no randomness, no asyncio. Feed it
:class:`~biofeedback.beat.Beat` and :class:`~biofeedback.beat.Gap` items with :meth:`HRVEngine.push`;
it returns the beats *settled* by that push, each with every index computed over time windows
that end at that beat's ``t_s``:

- time domain (mean RR/HR, SDNN, RMSSD, ln RMSSD, pNN50/20, SD1/SD2, stress index, PNS/SNS
  index): the last ``time_window_s`` (60 s);
- coherence: the last ``coherence_window_s`` (64 s);
- frequency domain (VLF/LF/HF, LF/HF, n.u., peaks) and the resonance frequency: the last
  ``frequency_window_s`` (120 s).

A window holds the settled beats with ``t_end - window <= t_s <= t_end`` (as
:func:`biofeedback.hrv.coherence.last_window`). The indices are the
batch kernels (:mod:`biofeedback.hrv`) called on exactly those beats, so streaming equals batch
on the same window (tested to a relative difference of 1e-9).

Look-ahead. With artifact detection on (the default) the causal Lipponen & Tarvainen detector
(:class:`biofeedback.hrv.artifacts.CausalArtifactDetector`) needs two beats after a beat to
classify it: ``push(beat n)`` returns beat ``n - 2`` (nothing for the first two beats of a run).
A :class:`~biofeedback.beat.Gap` settles the beats still pending (classified with the reflected
neighbours of the paper, as at the end of a recording) and restarts the detector; so does
:meth:`HRVEngine.flush` at the end of a session. Artifact beats stay in the windows with
``valid=False``: they are excluded from every index, never paired into a difference, and the
spectral kernels bridge them. With detection off, every beat settles at once.

Gaps. No successive difference is formed across a gap (the beat after it carries
``breaks=True``); the spectral kernels bridge gaps like removed beats (their
``longest_bridge_s`` says how far). Windows stay time-based, so a long gap simply empties them.

Quality (settings version >= 2). Every beat carries the quality of its windows
(:class:`WindowQuality`: share of valid beats, longest bridged stretch); an index whose window is
below the thresholds of :mod:`biofeedback.hrv.quality` (< 80 % valid beats; for spectra and
coherence also a bridge > 4 s) is NaN (JSON null) and ``quality_reason`` says why. The relaxation
baseline needs >= 60 s of valid beats and >= 80 % valid beats, else ``relaxation`` stays ``None``
and ``relaxation_reason`` says why. Version-1 settings (older sessions) keep the version-1 output.

Memory. The ring buffers hold only the beats of the longest window (plus the pending
look-ahead): memory does not grow with session length.

Relaxation. The relaxation index needs the user's baseline: pass a
:class:`~biofeedback.hrv.relaxation.Baseline`, or call :meth:`HRVEngine.end_baseline` after the
baseline rest to freeze one from the beats settled since the start. Until then ``relaxation`` is
``None``.

Determinism. The output depends only on the items pushed and the :class:`EngineSettings`
(stored with each session), so replaying stored beats reproduces the live indices bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import orjson

from biofeedback.beat import Beat, Gap
from biofeedback.frozen import positional_builder as _builder  # the one builder of frozen values
from biofeedback.hrv import _beat_kernels as bk
from biofeedback.hrv._beat_kernels import NOTHING_SETTLED, beat_after_fft, beat_before_fft, keep_results, ring_append
from biofeedback.hrv._kernels import NO_WINDOW
from biofeedback.hrv.artifacts import LABELS, ArtifactSettings, CausalArtifactDetector
from biofeedback.hrv.autonomic import PNS_NORMS, SNS_NORMS
from biofeedback.hrv.coherence import CoherenceMethod, coherence_spectrum_nfft, window_coherence_values
from biofeedback.hrv.constants import (
    COHERENCE_PEAK_WIDTH_HZ,
    COHERENCE_SEARCH_BAND_HZ,
    COHERENCE_TOTAL_BAND_HZ,
    COHERENCE_WINDOW_S,
    HF_BAND_HZ,
    LF_BAND_HZ,
    NN20_MS,
    NN50_MS,
    RESAMPLE_HZ,
    RESONANCE_BAND_HZ,
    SI_BIN_MS,
    SMOOTHNESS_LAMBDA,
    VLF_BAND_HZ,
    WELCH_OVERLAP,
    WELCH_SEGMENT_S,
)
from biofeedback.hrv.frequency_domain import (
    Detrend, Method, RfftWriter, WelchScratch, frequency_values_of, indices_from_spectrum, power_spectrum,
    rfft_grid_step, rfft_writer, window_welch_indices,
)
from biofeedback.hrv.quality import baseline_problem, window_problem, windows_fine
from biofeedback.hrv.relaxation import Baseline, relaxation_index
from biofeedback.hrv.resonance import resonance
from biofeedback.hrv.time_domain import MAX_SI_BINS, NO_MASK, time_domain_fields

__all__ = ["EngineSettings", "BeatIndices", "WindowQuality", "HRVEngine", "SETTINGS_VERSION",
           "SUPPORTED_SETTINGS_VERSIONS", "json_line"]

#: Version of the engine's behaviour given to new sessions. Each version is a frozen recipe: a
#: stored session replays with the version it was recorded with (``EngineSettings.version``), and
#: every behaviour that changed between versions is decided by the version (a property of
#: :class:`EngineSettings` such as :attr:`EngineSettings.coherence_method`, or the settings it implies).
#: 1: the first engine (coherence on the native 64 s Welch grid).
#: 2: coherence on the zero-padded fine grid (grid-independent); signal quality: every window
#:    carries its quality and an index whose window is below the thresholds of
#:    :mod:`biofeedback.hrv.quality` is null with a reason; the relaxation baseline needs >= 60 s of
#:    valid beats and >= 80 % valid beats; the artifact detector's thresholds are floored at 9 % of
#:    the local median RR (``ArtifactSettings.min_threshold_frac``) and a long beat found from
#:    its beat-to-beat changes alone must stand 3 thresholds above the line through its two
#:    neighbours (``ArtifactSettings.neighbour_line``), so respiratory swings stay valid; a stored
#:    dict without these keys reads them as 0, the old detector.
#: 3: the frequency-window Welch spectrum (and the resonance frequency, its LF peak) on the fixed
#:    grid of one full Welch segment, 1/``segment_s`` Hz (1/300 Hz): every segment is zero-padded to
#:    ``round(segment_s * fs_hz)`` points (:attr:`EngineSettings.welch_nfft`, 1200 at 4 Hz) instead of
#:    being transformed at its own length (478-481 points for 120 s: a prime length takes the slow
#:    Bluestein FFT). Version-1 and -2 sessions replay with their own version.
SETTINGS_VERSION = 3
SUPPORTED_SETTINGS_VERSIONS: tuple[int, ...] = (1, 2, 3)
_DETRENDS = ("mean", "smoothness_priors")
_METHODS = ("welch", "lomb")


@dataclass(frozen=True)
class EngineSettings:
    """Everything that determines the engine's output; stored with every session for replay.

    Windows are durations in seconds; spectral options are those of
    :func:`biofeedback.hrv.frequency_domain.power_spectrum`. ``version`` selects the recipe of a
    settings version (:data:`SETTINGS_VERSION` for new sessions; a stored session keeps its own):
    the properties below translate it into behaviour, so the engine never compares versions itself.
    """

    time_window_s: float = 60.0
    coherence_window_s: float = COHERENCE_WINDOW_S
    frequency_window_s: float = 120.0
    method: Method = "welch"
    detrend: Detrend = "mean"
    fs_hz: float = RESAMPLE_HZ
    segment_s: float = WELCH_SEGMENT_S
    overlap: float = WELCH_OVERLAP
    smoothness_lambda: float = SMOOTHNESS_LAMBDA
    si_bin_ms: float = SI_BIN_MS
    artifact_detection: bool = True
    artifacts: ArtifactSettings = field(default_factory=ArtifactSettings)
    version: int = SETTINGS_VERSION

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version not in SUPPORTED_SETTINGS_VERSIONS:
            raise ValueError(
                f"engine settings version {self.version!r} is not supported "
                f"(supported: {', '.join(map(str, SUPPORTED_SETTINGS_VERSIONS))})"
            )
        for name in ("time_window_s", "coherence_window_s", "frequency_window_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if self.detrend not in _DETRENDS:
            raise ValueError(f"detrend must be one of {_DETRENDS}, got {self.detrend!r}")

    @property
    def longest_window_s(self) -> float:
        return max(self.time_window_s, self.coherence_window_s, self.frequency_window_s)

    @property
    def coherence_method(self) -> CoherenceMethod:
        """How the coherence spectrum is sampled: ``"grid"`` (version 1) or ``"fine"`` (version >= 2);
        see :mod:`biofeedback.hrv.coherence`."""
        return "grid" if self.version < 2 else "fine"

    @property
    def welch_nfft(self) -> int | None:
        """FFT length of the Welch spectra (frequency window, resonance; :func:`power_spectrum`'s
        ``nfft``): ``None`` (versions 1 and 2: each segment at its own length, grid ``fs_hz`` /
        samples) or ``round(segment_s * fs_hz)`` (version >= 3: every segment zero-padded to one
        full segment, the fixed grid 1/``segment_s`` Hz = 1/300 Hz, 1200 points at 4 Hz)."""
        return None if self.version < 3 else int(round(self.segment_s * self.fs_hz))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (with ``"version"``); :meth:`from_dict` reverses it exactly."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "artifacts"}
        d["artifacts"] = self.artifacts.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EngineSettings":
        """Settings from :meth:`to_dict` of any supported version (a dict without ``"version"``
        gets the current one); ``ValueError`` for an unsupported version or unknown keys."""
        version = d.get("version", SETTINGS_VERSION)
        kwargs: dict[str, Any] = {"version": version}
        for f in fields(cls):
            if f.name == "artifacts":
                if "artifacts" in d:
                    kwargs["artifacts"] = ArtifactSettings.from_dict(d["artifacts"])
                elif version == 1:  # version 1 had no relative threshold floor
                    kwargs["artifacts"] = ArtifactSettings(min_threshold_frac=0.0, neighbour_line=0.0)
            elif f.name in d and f.name != "version":
                kwargs[f.name] = d[f.name]
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown engine settings: {', '.join(sorted(unknown))}")
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class BeatIndices:
    """The indices of one settled beat (units in the names; windows in :class:`EngineSettings`).

    ``index`` counts beats pushed since the engine started (0-based); ``artifact`` is the beat's
    label (``"normal"``, ``"ectopic"``, ``"missed"``, ``"extra"``, ``"long"``, ``"short"``),
    ``valid`` False when the beat is excluded from the indices; ``gap_before`` True when a gap
    preceded the beat. ``n_beats`` is the number of valid beats in the time-domain window.
    ``artifacts_pct`` is the share of settled beats of the session so far that are not
    ``"normal"``. ``relaxation`` is ``None`` until a baseline exists. NaN = undefined (too few
    beats in the window).
    """

    index: int
    t_s: float
    rr_ms: float
    hr_bpm: float
    artifact: str
    valid: bool
    gap_before: bool
    n_beats: int
    mean_rr_ms: float
    mean_hr_bpm: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float
    pnn50_pct: float
    pnn20_pct: float
    sd1_ms: float
    sd2_ms: float
    stress_index: float
    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    total_power_ms2: float
    lf_hf: float
    lf_nu: float
    hf_nu: float
    lf_peak_hz: float
    hf_peak_hz: float
    coherence: float
    coherence_peak_hz: float
    resonance_hz: float
    pns_index: float
    sns_index: float
    relaxation: float | None
    artifacts_pct: float
    quality: WindowQuality | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Field name -> value, floats as Python floats, NaN/inf/None as ``None`` (JSON null).

        With settings version >= 2 the keys of :meth:`WindowQuality.to_json_dict` follow
        (version 1 output is unchanged, so stored sessions still replay key for key)."""
        values = _get_fields(self)
        if self.quality is None:
            plain = _plain_json_dict(_FIELD_NAMES, values, _FIELD_TYPES)
            if plain is not None:
                return plain
        else:
            q = _get_quality(self.quality)
            plain = _plain_json_dict(_ROW_NAMES, values + q, _ROW_TYPES)
            if plain is not None:
                return plain
        out: dict[str, Any] = {}
        for name, v in zip(_FIELD_NAMES, values):
            t = type(v)
            if t is float:  # most fields: the same value as below, without the isinstance chain
                out[name] = v if v - v == 0.0 else None  # v - v is NaN for NaN and +-inf
            elif isinstance(v, bool) or v is None or isinstance(v, str):
                out[name] = v
            elif isinstance(v, (int, np.integer)):
                out[name] = int(v)
            else:
                fv = float(v)
                out[name] = fv if math.isfinite(fv) else None
        if self.quality is not None:
            out.update(self.quality.to_json_dict())
        return out

    def row(self) -> tuple[Any, ...]:
        """The values of the fields in order (``quality`` left out), then the quality's fields when it has
        a quality: a compact form (a tuple of plain values, cheap to pickle) that :meth:`from_row`
        turns back into the same object (a helper process's engine: :mod:`sessions.engine_worker`)."""
        q = self.quality
        return _get_fields(self) if q is None else _get_fields(self) + _get_quality(q)

    @staticmethod
    def from_row(row: tuple[Any, ...]) -> "BeatIndices":
        """The :class:`BeatIndices` of a :meth:`row` (the same fields, the same values)."""
        return _beat_indices_of_row(row)

    def to_json_line(self) -> bytes:
        """The object of :meth:`to_json_dict` as one line of compact JSON (UTF-8, ending in a newline).

        Same keys in the same order and the same values once parsed (NaN/inf/None as null), written
        by orjson straight from the fields (no per-field conversion): the lines of ``analyze
        --per-beat --jsonl``. :func:`json_line` of :meth:`to_json_dict` gives the same bytes."""
        return _json_line_of_row(self.row())


@dataclass(frozen=True, slots=True)
class WindowQuality:
    """The quality of the windows behind one beat's indices (settings version >= 2).

    ``*_valid_pct``: share of valid beats in the time-domain, frequency-domain and coherence
    windows (%); ``*_bridge_s``: the longest stretch the spectral spline bridged in those windows
    (s). ``signal_ok`` is False when any index was nulled for quality, ``quality_reason`` says
    which and why; ``relaxation_reason`` says why ``relaxation`` is null (no baseline yet, a
    baseline refused for too little clean data, or a poor window). Thresholds:
    :mod:`biofeedback.hrv.quality`.
    """

    time_valid_pct: float
    frequency_valid_pct: float
    frequency_bridge_s: float
    coherence_valid_pct: float
    coherence_bridge_s: float
    signal_ok: bool
    quality_reason: str | None
    relaxation_reason: str | None

    def to_json_dict(self) -> dict[str, Any]:
        values = _get_quality(self)
        plain = _plain_json_dict(_QUALITY_NAMES, values, _QUALITY_TYPES)
        if plain is not None:
            return plain
        out: dict[str, Any] = {}
        for name, v in zip(_QUALITY_NAMES, values):
            out[name] = None if isinstance(v, float) and not math.isfinite(v) else v
        return out


#: :class:`BeatIndices` and :class:`WindowQuality` from their fields in order (positional), as fast as
#: the engine needs them (:func:`biofeedback.frozen.positional_builder`); the same objects as the
#: classes' own constructors.
_new_beat_indices = _builder(BeatIndices)
_new_window_quality = _builder(WindowQuality)

_FIELD_NAMES = tuple(f.name for f in fields(BeatIndices) if f.name != "quality")
_QUALITY_NAMES = tuple(f.name for f in fields(WindowQuality))
#: The names of a beat's row: :class:`BeatIndices`' fields but ``quality``, then :class:`WindowQuality`'s
#: (a row of settings version 1 stops before them).
_ROW_NAMES = _FIELD_NAMES + _QUALITY_NAMES
_N_FIELDS = len(_FIELD_NAMES)
_get_fields = attrgetter(*_FIELD_NAMES)
_get_quality = attrgetter(*_QUALITY_NAMES)


def _declared_types(cls: type[Any]) -> tuple[tuple[type, ...], ...]:
    """The plain types each field of ``cls`` (but ``quality``) may hold as its JSON value unchanged:
    its annotation's (``float | None``: float or None)."""
    plain = {"int": int, "float": float, "bool": bool, "str": str, "None": type(None)}
    return tuple(tuple(plain[t.strip()] for t in str(f.type).split("|"))
                 for f in fields(cls) if f.name != "quality")


_FIELD_TYPES = _declared_types(BeatIndices)
_QUALITY_TYPES = _declared_types(WindowQuality)
_ROW_TYPES = _FIELD_TYPES + _QUALITY_TYPES
#: type signature of a row of values -> a getter of its float values, or None when some value is not
#: of its field's declared type (filled as signatures are met: a handful, as the fields' types are fixed)
_PLAIN_SIGNATURES: dict[tuple[type, ...], Any] = {}


def _plain_json_dict(names: tuple[str, ...], values: tuple[Any, ...],
                     declared: tuple[tuple[type, ...], ...]) -> dict[str, Any] | None:
    """``dict(zip(names, values))`` when that is already the JSON object :meth:`BeatIndices.to_json_dict`
    and :meth:`WindowQuality.to_json_dict` build value by value: every value of its field's declared
    plain type (``float`` exactly, not a numpy scalar; ``int``; ``bool``; ``str``; ``None``) and every
    float finite (one sum of them: NaN or an infinity makes it non-finite, so does an overflow, which
    only sends the row to the general path). Otherwise ``None`` (the caller converts value by value).
    A beat's values every beat: about a third of the general path's time."""
    signature = tuple(map(type, values))
    floats = _PLAIN_SIGNATURES.get(signature, False)
    if floats is False:
        if len(signature) != len(declared) or not all(t in ok for t, ok in zip(signature, declared)):
            floats = None
        else:
            at = [i for i, t in enumerate(signature) if t is float]
            floats = itemgetter(*at) if len(at) > 1 else (lambda v, at=tuple(at): tuple(v[i] for i in at))
        if len(_PLAIN_SIGNATURES) < 256:
            _PLAIN_SIGNATURES[signature] = floats
    if floats is None:
        return None
    total = sum(floats(values))
    if total - total != 0.0:  # a NaN or an infinity among them (or an overflow): value by value
        return None
    return dict(zip(names, values))
# NaN and +-inf are written as null by orjson; numpy scalars as the numbers they hold
_ORJSON_LINE = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
_orjson_dumps = orjson.dumps


def json_line(obj: dict[str, Any]) -> bytes:
    """One per-beat object (:meth:`BeatIndices.to_json_dict`, or a row built from it) as one line of
    compact JSON, UTF-8, ending in a newline: the one encoder of per-beat JSON lines (``analyze
    --per-beat --jsonl`` and a cohort's ``.jsonl`` files). NaN/inf become null.

    Examples
    --------
    >>> json_line({"t_s": 0.8, "rmssd_ms": float("nan"), "valid": True})
    b'{"t_s":0.8,"rmssd_ms":null,"valid":true}\n'
    """
    return _orjson_dumps(obj, option=_ORJSON_LINE)


def _json_line_of_row(row: tuple[Any, ...]) -> bytes:
    """The JSON line of a beat's row (the values of :data:`_ROW_NAMES`, in order): the bytes of
    :meth:`BeatIndices.to_json_line` and of :meth:`HRVEngine.json_lines` (one encoder for both)."""
    return _orjson_dumps(dict(zip(_ROW_NAMES, row)), option=_ORJSON_LINE)


def _beat_indices_of_row(row: tuple[Any, ...]) -> BeatIndices:
    """The :class:`BeatIndices` of a beat's row (:data:`_ROW_NAMES`; its :class:`WindowQuality` from the
    values after the fields, ``None`` for a row of settings version 1)."""
    if len(row) == _N_FIELDS:
        return _new_beat_indices(*row, None)
    return _new_beat_indices(*row[:_N_FIELDS], _new_window_quality(*row[_N_FIELDS:]))


class _Ring:
    """Column buffers of the settled beats, trimmed to the longest window (amortised O(1)).

    The columns are rows of three arrays (``F``: ``t_s``, ``rr_ms``; ``B``: ``valid``, ``breaks``;
    ``I``: valid beats appended before each position, so a window ``start:end`` holds ``n_valid -
    I[0, start]`` valid beats without counting them; the label code), its bookkeeping the first slots
    of the state vectors ``S`` (start, end, valid beats, the three windows' first positions) and
    ``G`` (the time of the newest beat that is invalid or follows a gap), which the engine's
    compiled per-beat step (:mod:`biofeedback.hrv._beat_kernels`) reads and writes."""

    __slots__ = ("F", "B", "I", "S", "G")

    def __init__(self, capacity: int = 1024):
        self.F = np.empty((2, capacity))
        self.B = np.empty((2, capacity), dtype=bool)
        self.I = np.empty((2, capacity), dtype=np.int64)
        self.S = np.zeros(bk.S_SIZE, dtype=np.int64)
        self.G = np.zeros(bk.G_SIZE)
        self.G[bk.G_IRREGULAR_T] = -math.inf

    @property
    def capacity(self) -> int:
        return int(self.F.shape[1])

    @property
    def start(self) -> int:
        return int(self.S[bk.S_START])

    @property
    def end(self) -> int:
        return int(self.S[bk.S_END])

    def __len__(self) -> int:
        return self.end - self.start

    def make_room(self, keep_from_s: float) -> None:
        """Drop what no window needs any more (beats before ``keep_from_s``), then compact (or grow
        if still more than half full)."""
        S = self.S
        start, end = self.start, self.end
        lo = start + int(np.searchsorted(self.F[0, start:end], keep_from_s, side="left"))
        n = end - lo
        size = self.capacity
        cap = size if n < size // 2 else size * 2
        for name in ("F", "B", "I"):
            old = getattr(self, name)
            new = old if cap == size else np.empty((2, cap), dtype=old.dtype)
            new[:, :n] = old[:, lo:end]
            setattr(self, name, new)
        S[bk.S_START], S[bk.S_END] = 0, n
        for k in (bk.S_POS_T, bk.S_POS_F, bk.S_POS_C):
            S[k] = max(int(S[k]) - lo, 0)

    def append(self, t: float, rr: float, valid: bool, brk: bool, code: int, keep_from_s: float) -> None:
        if not ring_append(self.F, self.B, self.I, self.S, self.G, t, rr, valid, brk, code):
            self.make_room(keep_from_s)
            ring_append(self.F, self.B, self.I, self.S, self.G, t, rr, valid, brk, code)

    def state(self) -> dict[str, list]:
        s, e = self.start, self.end
        return {
            "t_s": self.F[0, s:e].tolist(),
            "rr_ms": self.F[1, s:e].tolist(),
            "valid": self.B[0, s:e].tolist(),
            "breaks": self.B[1, s:e].tolist(),
            "code": self.I[1, s:e].tolist(),
        }


#: The rfft's scale factor (1: none) as a 0-d float64 array: numpy's ufunc takes it as it is, without
#: converting a Python number at every call (~1 µs of the ~3 µs a call costs besides the transform).
_FFT_SCALE = np.array(1.0)
_FFT_SCALE.setflags(write=False)
#: Beats whose FFTs :meth:`HRVEngine._rows` does together (slots of the step's scratch and spectra).
_BLOCK = 8
_NAN9 = (math.nan,) * 9
_NAN10 = (math.nan,) * 10
# positions in the per-beat values of the compiled step (biofeedback.hrv._beat_kernels.beat_after_fft):
# 5 quality figures, then BeatIndices' fields from n_beats to sns_index
_V_FIELDS = 5
_V_MEAN_HR = _V_FIELDS + 2
_V_LN_RMSSD = _V_FIELDS + 5
_V_COH = _V_FIELDS + 20
_V_RESONANCE = _V_FIELDS + 22
_V_PNS = _V_FIELDS + 23


class HRVEngine:
    """Per-beat HRV indices over sliding time windows (see the module docstring).

    Parameters
    ----------
    settings:
        Windows, spectral method, artifact detection; default :class:`EngineSettings`.
    baseline:
        The user's baseline for the relaxation index, if already known.

    Examples
    --------
    >>> from biofeedback.beat import Beat
    >>> eng = HRVEngine(EngineSettings(artifact_detection=False))
    >>> out = eng.push(Beat(rr_ms=800.0, t_s=0.8))
    >>> out[0].t_s, out[0].hr_bpm
    (0.8, 75.0)
    """

    def __init__(self, settings: EngineSettings | None = None, *, baseline: Baseline | None = None):
        self.settings = settings or EngineSettings()
        self._baseline = baseline
        self._detector = CausalArtifactDetector(self.settings.artifacts) if self.settings.artifact_detection else None
        self._ring = _Ring()
        st = self.settings
        # resonance() is the peak in RESONANCE_BAND_HZ of the default Welch spectrum of the window (with
        # the settings' welch_nfft): the LF peak of ours when ours is that spectrum (decided once)
        self._resonance_is_lf_peak = (
            st.method == "welch" and st.detrend == "mean" and st.segment_s == WELCH_SEGMENT_S
            and st.overlap == WELCH_OVERLAP and RESONANCE_BAND_HZ == LF_BAND_HZ
        )
        # the default spectrum (Welch, mean removed) and the coherence spectrum are computed in place
        # on the ring (window_welch_spectrum: the same bits as power_spectrum of the window's slices)
        self._welch_in_place = st.method == "welch" and st.detrend == "mean"
        self._coherence_nfft = coherence_spectrum_nfft(st.coherence_method, st.fs_hz, st.coherence_window_s)
        self._welch_nfft = st.welch_nfft
        self._scratch = WelchScratch()  # the spectra's buffers and Hann windows, reused every beat
        self._keep_s = st.longest_window_s
        self._si_bin_ms = float(st.si_bin_ms)  # as time_domain() passes it to its kernel
        # the compiled per-beat step's settings (biofeedback.hrv._beat_kernels: its slots)
        S, G = self._ring.S, self._ring.G
        seg_f, seg_c = int(round(st.segment_s * st.fs_hz)), int(round(st.coherence_window_s * st.fs_hz))
        nfft_f, nfft_c = self._welch_nfft or 0, self._coherence_nfft or 0
        S[bk.S_SEG_F], S[bk.S_SEG_C], S[bk.S_NFFT_F], S[bk.S_NFFT_C] = seg_f, seg_c, nfft_f, nfft_c
        S[bk.S_MAX_BINS], S[bk.S_FAST] = MAX_SI_BINS, self._welch_in_place
        G[bk.G_TIME_W:bk.G_DF_F] = (st.time_window_s, st.frequency_window_s, st.coherence_window_s, st.fs_hz,
                                    self._si_bin_ms, NN50_MS, NN20_MS)
        G[bk.G_BANDS_F:bk.G_BANDS_C] = (HF_BAND_HZ[1], *VLF_BAND_HZ, *LF_BAND_HZ, *HF_BAND_HZ)
        G[bk.G_BANDS_C:bk.G_OUT] = (COHERENCE_TOTAL_BAND_HZ[1], *COHERENCE_SEARCH_BAND_HZ,
                                    0.5 * COHERENCE_PEAK_WIDTH_HZ, *COHERENCE_TOTAL_BAND_HZ)
        G[bk.G_PNS_NORMS:bk.G_PNS_NORMS + 6] = PNS_NORMS
        G[bk.G_SNS_NORMS:bk.G_SNS_NORMS + 6] = SNS_NORMS
        self._fft_width = max(seg_f, nfft_f, seg_c, nfft_c)
        self._scratch.reserve(0, self._fft_width, st.fs_hz)
        # the two rffts of each slot of a block of beats (_rows; one beat at a time uses slot 0), and the
        # state vectors S and G as each slot's beat left them (bk.keep_results)
        self._spec = np.zeros((_BLOCK, 2, self._fft_width // 2 + 1), dtype=np.complex128)
        self._spec_v = self._spec.view(np.float64)
        self._kept_s = np.zeros((_BLOCK, bk.S_SIZE), dtype=np.int64)
        self._kept_g = np.zeros((_BLOCK, bk.G_SIZE))
        self._fft_n = [0, 0]  # FFT length, writer and slot 0's output of each window at the last beat
        self._fft_write: list[RfftWriter | None] = [None, None]
        self._fft_out = [self._spec[0:1, 0, :1], self._spec[0:1, 1, :1]]
        self._reserve()
        self._quality = st.version >= 2  # version 1 never computes window quality
        self._mode = bk.PUSH if self._detector is not None else bk.DIRECT
        self._det_f: np.ndarray
        self._det_i: np.ndarray
        self._det_f, self._det_i = (self._detector.kernel_state if self._detector is not None
                                    else (np.zeros(1), np.zeros(1, dtype=np.int64)))
        self._gap_pending = False  # the next beat pushed comes after a gap
        self._last_t: float | None = None
        self._n_pushed = 0
        self._n_settled = 0
        self._n_artifacts = 0
        self._baseline_reason: str | None = None
        self._reset_baseline_acc()

    # -- public API ---------------------------------------------------------------------------
    @property
    def lookahead_beats(self) -> int:
        """How many beats a beat's output lags behind its push (2 with artifact detection, else 0)."""
        return self._detector.lookahead_beats if self._detector is not None else 0

    @property
    def baseline(self) -> Baseline | None:
        return self._baseline

    def push(self, item: Beat | Gap) -> list[BeatIndices]:
        """Feed one beat or gap; return the beats settled by it (oldest first)."""
        if isinstance(item, Gap):
            return list(map(_beat_indices_of_row, self._gap()))
        if not isinstance(item, Beat):
            raise TypeError(f"push() takes a Beat or a Gap, got {type(item).__name__}")
        # with detection at most one (older) beat settles per push, else this one at once
        row = self._settle(*self._accept(item.rr_ms, item.t_s), self._mode)
        return [] if row is None else [_beat_indices_of_row(row)]

    def push_beats(
        self, rr_ms: Iterable[float], t_s: Iterable[float], gap_before: Iterable[bool] | None = None,
    ) -> Iterator[BeatIndices]:
        """Feed many beats: the beats they settle, oldest first, as :meth:`push` gives them for
        ``push(Gap(...))`` when ``gap_before[i]`` is True, then ``push(Beat(rr_ms=rr_ms[i], t_s=t_s[i]))``,
        for every ``i`` in order; without a :class:`~biofeedback.beat.Beat` or a list per beat (the
        re-analysis of a whole recording, ``analyze --per-beat``). The sequences must be of one length
        (``ValueError`` at their end otherwise). Lazy, a few beats at a time: up to :data:`_BLOCK` (8)
        settled beats have their FFTs done together (the same bits, fewer µs a beat); a bad beat raises
        :meth:`push`'s ``ValueError`` when it is reached, after the beats before it. Until the iterator
        is exhausted, call no other method of this engine (its state may be a few beats ahead of what
        was yielded). Call :meth:`flush` at the end of the recording as after :meth:`push`.

        Examples
        --------
        >>> eng = HRVEngine(EngineSettings(artifact_detection=False))
        >>> [b.t_s for b in eng.push_beats([800.0, 810.0], [0.8, 1.61])]
        [0.8, 1.61]
        """
        return map(_beat_indices_of_row, self._rows(rr_ms, t_s, gap_before))

    def json_lines(
        self, rr_ms: Iterable[float], t_s: Iterable[float], gap_before: Iterable[bool] | None = None,
    ) -> Iterator[bytes]:
        """:meth:`push_beats`, each settled beat given as its JSON line, the bytes of
        :meth:`BeatIndices.to_json_line`, without building the :class:`BeatIndices` (``analyze
        --per-beat --jsonl``), with the same laziness and rules. The beats still pending at the end come
        from :meth:`flush`.

        Examples
        --------
        >>> eng = HRVEngine(EngineSettings(artifact_detection=False))
        >>> next(eng.json_lines([800.0], [0.8]))[:34]
        b'{"index":0,"t_s":0.8,"rr_ms":800.0'
        """
        return map(_json_line_of_row, self._rows(rr_ms, t_s, gap_before))

    def flush(self) -> list[BeatIndices]:
        """Settle the beats still waiting for look-ahead (end of session). The engine stays usable."""
        return list(map(_beat_indices_of_row, self._settle_remaining()))

    def end_baseline(self) -> Baseline:
        """Freeze the baseline from the beats settled since the start.

        ``ln_rmssd`` = ln RMSSD over every successive pair of valid beats (no pair across a gap or a
        removed beat); ``mean_hr_bpm`` = mean of 60000/RR over the valid beats; ``coherence`` =
        mean of the per-beat coherence ratios that were defined. Raises ``ValueError`` when fewer
        than two successive valid pairs were seen.
        """
        a = self._acc
        if a["n_pairs"] < 2 or a["n_valid"] < 2:
            self._baseline_reason = "baseline refused: fewer than 3 successive valid beats"
            raise ValueError("not enough valid beats for a baseline (need at least 3 successive valid beats)")
        if self.settings.version >= 2:
            why = baseline_problem(a["valid_s"], 100.0 * a["n_valid"] / (a["n_valid"] + a["n_invalid"]))
            if why is not None:
                self._baseline_reason = why
                raise ValueError(why)
        rmssd = math.sqrt(a["sum_sq_diff"] / a["n_pairs"])
        coh = a["sum_coh"] / a["n_coh"] if a["n_coh"] else math.nan
        self._baseline = Baseline(
            ln_rmssd=math.log(rmssd) if rmssd > 0 else -math.inf,
            mean_hr_bpm=a["sum_hr"] / a["n_valid"],
            coherence=coh,
        )
        return self._baseline

    def buffer_sizes(self) -> dict[str, int]:
        """Sizes of the internal buffers (capacity and live beats), for memory-bound checks."""
        return {
            "ring_capacity": self._ring.capacity,
            "ring_beats": len(self._ring),
            "pending": int(self._ring.S[bk.S_PEND_N]),
        }

    # -- snapshot / restore -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The complete state as a JSON-able dict; :meth:`restore` continues bit for bit."""
        return {
            "settings": self.settings.to_dict(),
            "baseline": None if self._baseline is None else asdict(self._baseline),
            "ring": self._ring.state(),
            "pending": self._pending(),
            "gap_pending": self._gap_pending,
            "last_t": self._last_t,
            "n_pushed": self._n_pushed,
            "n_settled": self._n_settled,
            "n_artifacts": self._n_artifacts,
            "acc": dict(self._acc),
            **({"baseline_reason": self._baseline_reason} if self.settings.version >= 2 else {}),
            "detector": None if self._detector is None else self._detector.snapshot(),
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> "HRVEngine":
        eng = cls(EngineSettings.from_dict(state["settings"]))
        if state["baseline"] is not None:
            eng._baseline = Baseline(**state["baseline"])
        r = state["ring"]
        for t, rr, v, b, c in zip(r["t_s"], r["rr_ms"], r["valid"], r["breaks"], r["code"]):
            eng._ring.append(float(t), float(rr), bool(v), bool(b), int(c), -math.inf)
        eng._reserve()  # the ring may have grown
        pending = state["pending"]
        if len(pending) >= bk.PENDING_CAP:
            raise ValueError(f"engine snapshot: {len(pending)} pending beats (at most {bk.PENDING_CAP - 1})")
        S, G = eng._ring.S, eng._ring.G
        S[bk.S_PEND_HEAD], S[bk.S_PEND_N] = 0, len(pending)
        for k, (t, rr, g) in enumerate(pending):
            G[bk.G_PEND_T + k], G[bk.G_PEND_RR + k], S[bk.S_PEND_GAP + k] = float(t), float(rr), bool(g)
        eng._gap_pending = bool(state["gap_pending"])
        eng._last_t = state["last_t"]
        eng._n_pushed = int(state["n_pushed"])
        eng._n_settled = int(state["n_settled"])
        eng._n_artifacts = int(state["n_artifacts"])
        eng._acc = dict(state["acc"])
        eng._baseline_reason = state.get("baseline_reason")
        if state["detector"] is not None:
            eng._detector = CausalArtifactDetector.restore(state["detector"])
            eng._det_f, eng._det_i = eng._detector.kernel_state
        return eng

    # -- internals ----------------------------------------------------------------------------
    def _accept(self, rr_ms: float, t_s: float) -> tuple[float, float, bool]:
        """A beat pushed (:meth:`push`, :meth:`push_beats`): checked, counted, and as :meth:`_settle` takes it,
        ``(t_s, rr_ms, gap before it)``."""
        rr = float(rr_ms)
        t = float(t_s)
        if not (math.isfinite(rr) and rr > 0):
            raise ValueError(f"beat {self._n_pushed}: rr_ms must be finite and > 0, got {rr_ms!r}")
        if not math.isfinite(t) or (self._last_t is not None and not t > self._last_t):
            raise ValueError(f"beat {self._n_pushed}: t_s must increase, got {t_s!r} after {self._last_t!r}")
        self._last_t = t
        self._n_pushed += 1
        gap = self._gap_pending
        self._gap_pending = False
        return t, rr, gap

    def _gap(self) -> list[tuple[Any, ...]]:
        """A gap pushed: the beats still pending settle (their rows), and the next beat comes after a gap."""
        out = self._settle_remaining()
        if self._n_pushed:
            self._gap_pending = True
        return out

    def _rows(
        self, rr_ms: Iterable[float], t_s: Iterable[float], gap_before: Iterable[bool] | None,
    ) -> Iterator[tuple[Any, ...]]:
        """The rows (:meth:`_settle`) of the beats settled by :meth:`push_beats`' beats, in order.

        Up to :data:`_BLOCK` settled beats at a time go through :meth:`_before` into slots of their
        own (``S`` and ``G`` as each left them kept beside, :func:`~biofeedback.hrv._beat_kernels.keep_results`),
        then their FFTs are done by one numpy call a window (a few µs of call overhead saved a beat,
        and the transforms run while their tables are in the cache), then each is finished as
        :meth:`_settle` finishes one: the same steps, the same bits. A block ends early at a gap, at
        a full ring, and where the FFT lengths change. Settings whose resonance frequency is not the
        LF peak read the ring at each beat (:meth:`_resonance`): one beat at a time."""
        beats = zip(rr_ms, t_s, strict=True)
        items = zip(beats, repeat(False)) if gap_before is None else zip(beats, gap_before, strict=True)
        accept, mode = self._accept, self._mode
        if not self._resonance_is_lf_peak:
            settle = self._settle
            for (rr, t), gap in items:
                if gap:
                    yield from self._gap()
                row = settle(*accept(rr, t), mode)
                if row is not None:
                    yield row
            return
        before, S, G, flush = self._before, self._ring.S, self._ring.G, self._flush
        kept: list[tuple[float, float, int]] = []  # time, RR, verdict of the beats in slots start.. (flush empties it)
        start = 0
        lengths = (-1, -1)
        try:
            for (rr, t), gap in items:
                if gap:
                    yield from flush(start, kept, lengths)
                    start = 0
                    yield from self._gap()  # one beat at a time, through slot 0: its FFT lengths may differ
                    lengths = (-1, -1)
                slot = start + len(kept)
                flags, t, rr, verdict, n_f, n_c = before(*accept(rr, t), mode, slot)
                if flags < 0:
                    if flags == NOTHING_SETTLED:
                        continue
                    # RING_FULL (nothing done yet): the ring's arrays and Z may move, finish the block first
                    yield from flush(start, kept, lengths)
                    start = slot = 0
                    self._make_room(t)
                    flags, t, rr, verdict, n_f, n_c = before(t, rr, False, bk.RESUME, 0)
                if n_f != lengths[0] or n_c != lengths[1]:
                    # other FFT lengths: the block so far first (this beat's inputs stay in its slot)
                    yield from flush(start, kept, lengths)
                    start = slot
                    self._fft_lengths(n_f, n_c)
                    lengths = (n_f, n_c)
                keep_results(S, G, self._kept_s, self._kept_g, slot)
                kept.append((t, rr, verdict))
                if slot + 1 == _BLOCK:
                    yield from flush(start, kept, lengths)
                    start = 0
        except ValueError:
            # a bad beat, or sequences of different lengths: the beats settled before it first, as push
            yield from flush(start, kept, lengths)
            raise
        yield from flush(start, kept, lengths)

    def _flush(self, start: int, kept: list[tuple[float, float, int]], lengths: tuple[int, int]) -> Iterator[tuple[Any, ...]]:
        """The rows of the beats in slots ``start:start + len(kept)`` (:meth:`_rows`; ``kept`` is emptied
        first, so a second flush finds nothing): their FFTs, then each beat after them, from the state
        vectors it left."""
        if not kept:
            return
        beats = kept[:]
        kept.clear()
        end = start + len(beats)
        self._fft(start, end, *lengths)
        V, SB, GB, finish = self._spec_v, self._kept_s, self._kept_g, self._finish
        for slot, (t, rr, verdict) in enumerate(beats, start):
            yield finish(t, rr, verdict, beat_after_fft(V[slot], SB[slot], GB[slot]))

    def _pending(self) -> list[list[float | bool]]:
        """The beats waiting for the detector's look-ahead, oldest first, as ``[t_s, rr_ms, gap_before]``."""
        S, G = self._ring.S, self._ring.G
        h = int(S[bk.S_PEND_HEAD])
        ks = [(h + j) % bk.PENDING_CAP for j in range(int(S[bk.S_PEND_N]))]
        return [[float(G[bk.G_PEND_T + k]), float(G[bk.G_PEND_RR + k]), bool(S[bk.S_PEND_GAP + k])] for k in ks]

    def _reset_baseline_acc(self) -> None:
        self._acc: dict[str, Any] = {
            "n_valid": 0, "sum_hr": 0.0, "n_pairs": 0, "sum_sq_diff": 0.0,
            "n_coh": 0, "sum_coh": 0.0, "prev_rr": None,
        }
        if self.settings.version >= 2:
            self._acc.update(n_invalid=0, valid_s=0.0)

    def _settle_remaining(self) -> list[tuple[Any, ...]]:
        """The rows of the beats still pending, settled (the end of a run)."""
        if self._detector is None:
            return []
        # each verdict (index * 16 + 8 * valid + label code, CausalArtifactDetector.kernel_state) settles
        # the oldest pending beat
        out = [self._settle(0.0, 0.0, False, r & 15) for r in self._detector.end_run_codes()]
        return [row for row in out if row is not None]

    def _reserve(self) -> None:
        """The compiled step's scratch ``Z`` of each slot (knot times and values for up to a ring of beats,
        the two FFT inputs), sized to the ring."""
        self._z = np.zeros((_BLOCK, 4, max(self._ring.capacity, self._fft_width)))
        self._z_f, self._z_c = self._z[0:1, 2], self._z[0:1, 3]  # slot 0's, as the FFTs take them

    def _set_fft(self, k: int, n: int) -> None:
        """Window ``k``'s (0 frequency, 1 coherence) FFT length became ``n``: its writer, output and grid."""
        self._fft_n[k] = n
        self._fft_write[k] = rfft_writer(n)
        self._fft_out[k] = self._spec[0:1, k, :n // 2 + 1]
        df = rfft_grid_step(n, self.settings.fs_hz)
        # rfft grids are uniform; a NaN step (never) would show as NaN indices, not as wrong ones
        self._ring.G[bk.G_DF_F + k] = math.nan if df is None else df

    def _settle(self, t: float, rr: float, gap: bool, mode: int) -> tuple[Any, ...] | None:
        """The one per-beat step of the engine (``mode``: :data:`bk.PUSH` through the detector,
        :data:`bk.DIRECT` without one, ``>= 0`` a verdict for the oldest pending beat), giving the row
        of the beat it settles (the values of :data:`_ROW_NAMES`, :func:`_beat_indices_of_row`), or
        ``None``: :meth:`_before` (one compiled call up to the FFTs), the FFTs (:meth:`_fft`), one
        compiled call after them (:func:`~biofeedback.hrv._beat_kernels.beat_after_fft`), then
        :meth:`_finish`. :meth:`_rows` takes the same steps for a block of beats, with their FFTs
        done together."""
        flags, t, rr, verdict, n_f, n_c = self._before(t, rr, gap, mode, 0)
        if flags < 0:
            if flags == NOTHING_SETTLED:
                return None
            self._make_room(t)  # RING_FULL: nothing done yet
            flags, t, rr, verdict, n_f, n_c = self._before(t, rr, gap, bk.RESUME, 0)
        self._fft_lengths(n_f, n_c)
        self._fft(0, 1, n_f, n_c)
        return self._finish(t, rr, verdict, beat_after_fft(self._spec_v[0], self._ring.S, self._ring.G))

    def _before(self, t: float, rr: float, gap: bool, mode: int, slot: int) -> tuple[int, float, float, int, int, int]:
        """One beat up to its FFTs, the inputs written into ``slot`` of ``Z``
        (:func:`~biofeedback.hrv._beat_kernels.beat_before_fft`: detector, ring, windows, time domain, both
        FFT inputs), the rare cases in Python (:meth:`_before_fft_rare`). Returns ``(flags, t, rr,
        verdict, n_fft_f, n_fft_c)`` of the beat it settles; ``flags`` < 0: ``NOTHING_SETTLED``, or
        ``RING_FULL`` (nothing done: :meth:`_make_room`, then again with ``bk.RESUME``)."""
        ring = self._ring
        sc = self._scratch
        z = self._z[slot]
        flags, n_f, n_c, t, rr, verdict = beat_before_fft(
            ring.F, ring.B, ring.I, ring.S, ring.G, z, sc.win, sc.win_at, self._det_f, self._det_i,
            t, rr, gap, mode)
        if flags > 0:
            self._before_fft_rare(flags, t, z)
        return flags, t, rr, verdict, n_f, n_c

    def _make_room(self, t: float) -> None:
        """The ring is full at a beat settling at ``t``: drop what no window needs (its arrays may move)."""
        self._ring.make_room(t - self._keep_s)
        self._reserve()

    def _fft_lengths(self, n_f: int, n_c: int) -> None:
        """The FFT lengths of the beat just past :meth:`_before` (0: no FFT): their writers and grids."""
        if n_f and n_f != self._fft_n[0]:
            self._set_fft(0, n_f)
        if n_c and n_c != self._fft_n[1]:
            self._set_fft(1, n_c)

    def _fft(self, start: int, end: int, n_f: int, n_c: int) -> None:
        """The rffts of the inputs in slots ``start:end`` (one numpy call a window for them all), of
        lengths ``n_f``, ``n_c`` (0: none), into the slots' spectra."""
        if end == 1:  # one beat (push): slot 0, its views made once
            if n_f:
                self._fft_write[0](self._z_f, _FFT_SCALE, out=self._fft_out[0])  # type: ignore[misc]
            if n_c:
                self._fft_write[1](self._z_c, _FFT_SCALE, out=self._fft_out[1])  # type: ignore[misc]
            return
        if n_f:
            self._fft_write[0](self._z[start:end, 2], _FFT_SCALE,  # type: ignore[misc]
                               out=self._spec[start:end, 0, :n_f // 2 + 1])
        if n_c:
            self._fft_write[1](self._z[start:end, 3], _FFT_SCALE,  # type: ignore[misc]
                               out=self._spec[start:end, 1, :n_c // 2 + 1])

    def _finish(self, t: float, rr: float, verdict: int, v: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row of a settled beat (time, RR, the detector's verdict) from ``v``, what
        :func:`~biofeedback.hrv._beat_kernels.beat_after_fft` gives: counts, the baseline's sums,
        quality, relaxation."""
        code = verdict & 7
        valid = (verdict & 8) != 0
        gap = (verdict & 16) != 0
        index = self._n_settled
        self._n_settled = index + 1
        if code:
            self._n_artifacts += 1
        # v: valid shares (time, frequency, coherence windows), longest bridges (frequency, coherence),
        # then BeatIndices' fields from n_beats to sns_index (_V_* below)
        if not self._resonance_is_lf_peak:  # reads the ring: one beat at a time only (_rows)
            v = self._resonance(v, t)
        self._accumulate_baseline(rr, valid, gap, v[_V_COH])
        quality: tuple[Any, ...] = ()  # WindowQuality's fields (settings version >= 2)
        if self._quality:
            if windows_fine(v[0], v[1], v[3], v[2], v[4]):
                quality = (v[0], v[1], v[3], v[2], v[4], True, None,
                           (self._baseline_reason or "no baseline yet") if self._baseline is None else None)
            else:
                quality, v = self._quality_nulls(
                    v, window_problem(v[0]), window_problem(v[1], v[3]), window_problem(v[2], v[4]))
        relax = None
        if self._baseline is not None:
            relax = relaxation_index(v[_V_LN_RMSSD], v[_V_MEAN_HR], v[_V_COH], self._baseline)
            if quality and quality[-1] is not None:  # relaxation_reason
                relax = None
        # BeatIndices' fields in order (v holds those from n_beats to sns_index), then the quality's
        return ((index, t, rr, 60000.0 / rr, LABELS[code], valid, gap) + v[_V_FIELDS:]
                + (relax, 100.0 * self._n_artifacts / self._n_settled) + quality)

    def _before_fft_rare(self, flags: int, t: float, z: np.ndarray) -> None:
        """What the compiled step leaves to Python, before the FFTs: a window's Hann window of a
        length met for the first time; and, written into the step's results, the cases of the general
        functions: a stress-index histogram too wide for it (:func:`time_domain_fields`' numpy path),
        a frequency window that is not the default one-segment Welch spectrum (:func:`power_spectrum`),
        a coherence window of more samples than its segment; errors raised as those functions raise
        them."""
        ring, sc, st = self._ring, self._scratch, self.settings
        S, G, tt, rrs, vv = ring.S, ring.G, ring.F[0], ring.F[1], ring.B[0]
        e = ring.end
        irregular_t = float(G[bk.G_IRREGULAR_T])
        if flags & bk.NEEDS_SI:
            a = int(S[bk.S_POS_T])
            if irregular_t < t - st.time_window_s:
                td = time_domain_fields(rrs[a:e], NO_MASK, NO_MASK, self._si_bin_ms)
            else:
                td = time_domain_fields(rrs[a:e], vv[a:e], ring.B[1, a:e], self._si_bin_ms)
            G[bk.G_TD:bk.G_TD + 13] = td
        if flags & bk.NO_FFT_F:
            status = S[bk.S_STATUS_F]
            if status == NO_WINDOW:
                sc.window(z[2], int(S[bk.S_M_F]))
            elif status != 1:
                b = int(S[bk.S_POS_F])
                f_valid = None if irregular_t < t - st.frequency_window_s else vv
                fr = None
                if self._welch_in_place:
                    fr = window_welch_indices(tt, rrs, f_valid, b, e, fs_hz=st.fs_hz, segment_s=st.segment_s,
                                              nfft=self._welch_nfft, scratch=sc)
                if fr is None:
                    sp = power_spectrum(
                        tt[b:e], rrs[b:e], None if f_valid is None else vv[b:e], method=st.method,
                        fs_hz=st.fs_hz, segment_s=st.segment_s, overlap=st.overlap, detrend=st.detrend,
                        smoothness_lambda=st.smoothness_lambda, nfft=self._welch_nfft,
                    )
                    fr = frequency_values_of(indices_from_spectrum(sp)), sp.n_knots, sp.longest_bridge_s
                G[bk.G_FV:bk.G_FV + 9] = fr[0]
                G[bk.G_BRIDGE_F] = fr[2]
        if flags & bk.NO_FFT_C:
            status = S[bk.S_STATUS_C]
            if status == NO_WINDOW:
                sc.window(z[3], int(S[bk.S_M_C]))
            elif status != 1:
                c = int(S[bk.S_POS_C])
                c_valid = None if irregular_t < t - st.coherence_window_s else vv
                G[bk.G_COH], G[bk.G_COH_PEAK], G[bk.G_BRIDGE_C] = window_coherence_values(
                    tt, rrs, c_valid, c, e, window_s=st.coherence_window_s, fs_hz=st.fs_hz,
                    nfft=self._coherence_nfft, scratch=sc)

    def _resonance(self, v: tuple[Any, ...], t: float) -> tuple[Any, ...]:
        """``v`` with the resonance frequency of the frequency window when it is not the LF peak of
        the engine's own spectrum (other settings than the default spectrum): :func:`resonance`."""
        ring = self._ring
        b, e = int(ring.S[bk.S_POS_F]), ring.end
        f_valid = None if ring.G[bk.G_IRREGULAR_T] < t - self.settings.frequency_window_s else ring.B[0, b:e]
        peak_hz = resonance(ring.F[0, b:e], ring.F[1, b:e], f_valid, fs_hz=self.settings.fs_hz,
                            nfft=self._welch_nfft).peak_hz
        return v[:_V_RESONANCE] + (peak_hz,) + v[_V_RESONANCE + 1:]

    # -- settings version 2: window quality (one place; version 1 never calls it) ----------------
    def _quality_nulls(
        self, v: tuple[Any, ...], why_t: str | None, why_f: str | None, why_c: str | None,
    ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The indices of a window below the thresholds of :mod:`biofeedback.hrv.quality` (``why_*``:
        :func:`window_problem` of the time, frequency and coherence windows) become NaN, and
        :class:`WindowQuality`'s fields say why (``v`` as in :meth:`_settle`)."""
        out = list(v)
        reasons = []
        if why_t is not None:
            # every time-domain index but n_beats, and PNS/SNS, computed from them
            out[_V_FIELDS + 1:_V_FIELDS + 11] = _NAN10
            out[_V_PNS] = out[_V_PNS + 1] = math.nan
            reasons.append(f"time domain: {why_t}")
        if why_f is not None:
            out[_V_FIELDS + 11:_V_FIELDS + 20] = _NAN9
            out[_V_RESONANCE] = math.nan
            reasons.append(f"spectrum: {why_f}")
        if why_c is not None:
            out[_V_COH] = out[_V_COH + 1] = math.nan
            reasons.append(f"coherence: {why_c}")
        if self._baseline is None:
            relax_reason = self._baseline_reason or "no baseline yet"
        elif why_t is not None or why_c is not None:
            relax_reason = "signal poor in the current window"
        else:
            relax_reason = None
        quality = (v[0], v[1], float(v[3]), v[2], float(v[4]), False, "; ".join(reasons), relax_reason)
        return quality, tuple(out)

    def _accumulate_baseline(self, rr: float, valid: bool, gap: bool, coh: float) -> None:
        a = self._acc
        if valid:
            if "valid_s" in a:  # settings version >= 2
                a["valid_s"] += rr / 1000.0
            a["n_valid"] += 1
            a["sum_hr"] += 60000.0 / rr
            prev = a["prev_rr"]
            if prev is not None and not gap:
                a["n_pairs"] += 1
                a["sum_sq_diff"] += (rr - prev) ** 2
            a["prev_rr"] = rr
        else:
            if "valid_s" in a:
                a["n_invalid"] += 1
            a["prev_rr"] = None
        if coh - coh == 0.0:  # finite (NaN and +-inf give NaN)
            a["n_coh"] += 1
            a["sum_coh"] += coh

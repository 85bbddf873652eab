"""The session report: one figure (PNG) or a self-contained HTML page with the figure and the
comparison tables.

:func:`render_report` draws a :class:`ReportData` (plain arrays and values, prepared by the caller from a
stored session) with matplotlib's Agg backend, imported inside the functions so importing this module stays
light. Four panels:

1. Tachogram: RR intervals (ms) against time, the session phases shaded, beats labelled as artifacts
   marked (large red crosses above the line), events (markers, reconnects...) as vertical lines with
   labels staggered so that close ones do not overlap.
2. Rolling RMSSD (ms, left axis) and coherence (right axis) against time (``m:ss``, or ``h:mm`` from
   an hour on).
3. Power spectral density of the RR series per phase (baseline, practice, recovery) overlaid,
   ms²/Hz on a log scale (the practice's resonance peak would otherwise flatten the rests) against
   Hz, with the LF (0.04-0.15 Hz) and HF (0.15-0.4 Hz) bands marked.
4. Poincaré plot: RR(n+1) against RR(n), ms, coloured by phase, each phase with its SD1/SD2 ellipse
   (centred on its mean, SD2 along and SD1 across the identity line), and the identity line.

The title wraps; under it one summary sentence (the comparison's, same numbers as ``compare``).
Titles, labels and legends are in the report's language (``lang``).

Files are written privately (mode 0600) and atomically (temporary file, then rename). Nothing leaves
the machine: the HTML embeds the PNG as base64 and links to nothing.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from biofeedback.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

#: Figure size in inches and resolution: the PNG is FIGURE_WIDTH_PX x FIGURE_HEIGHT_PX pixels.
FIGURE_SIZE_IN = (12.0, 11.0)
FIGURE_DPI = 100
FIGURE_WIDTH_PX = int(FIGURE_SIZE_IN[0] * FIGURE_DPI)
FIGURE_HEIGHT_PX = int(FIGURE_SIZE_IN[1] * FIGURE_DPI)

#: Panel titles, in order.
PANEL_TITLES = (
    "Tachogram (RR intervals)",
    "Rolling RMSSD and coherence",
    "Spectrum per phase",
    "Poincaré plot",
)

PHASE_COLOURS = {"baseline": "#9e9e9e", "practice": "#4a90c2", "recovery": "#4caf7d"}
#: Darker outlines for the SD1/SD2 ellipses (the phase colour would vanish in its own cloud of points).
ELLIPSE_COLOURS = {"baseline": "#3d3d3d", "practice": "#163a5c", "recovery": "#1b5e3a"}
PHASE_SHADES = {"baseline": "#ececec", "practice": "#dcebf6", "recovery": "#dff1e5"}
LF_BAND_HZ = (0.04, 0.15)
HF_BAND_HZ = (0.15, 0.40)


def _array(values: Any, name: str) -> np.ndarray:
    a = np.array(values, dtype=float, copy=True).reshape(-1)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class ReportPhase:
    """A phase of the session: ``name`` over ``[start_s, end_s)`` seconds since session start."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class ReportEvent:
    """Something that happened at ``t_s``: ``kind`` (e.g. "marker", "reconnect", "gap"), ``label`` to show."""

    t_s: float
    kind: str
    label: str


@dataclass(frozen=True)
class Series:
    """A time series: ``values`` at ``t_s`` (seconds since session start), same length; NaN = undefined."""

    t_s: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_s", _array(self.t_s, "t_s"))
        object.__setattr__(self, "values", _array(self.values, "values"))
        if self.t_s.shape != self.values.shape:
            raise ValueError(f"Series: {self.t_s.size} times but {self.values.size} values")


@dataclass(frozen=True)
class PhaseSpectrum:
    """The power spectral density of one phase: ``psd_ms2_hz`` (ms²/Hz) at ``freq_hz``."""

    phase: str
    freq_hz: np.ndarray
    psd_ms2_hz: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "freq_hz", _array(self.freq_hz, "freq_hz"))
        object.__setattr__(self, "psd_ms2_hz", _array(self.psd_ms2_hz, "psd_ms2_hz"))
        if self.freq_hz.shape != self.psd_ms2_hz.shape:
            raise ValueError(f"PhaseSpectrum {self.phase}: {self.freq_hz.size} frequencies but {self.psd_ms2_hz.size} values")


@dataclass(frozen=True)
class ReportTable:
    """A comparison table as plain data: ``columns`` headers and ``rows`` of cells (str, number or None)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | float | int | None, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.title!r}: row {i} has {len(row)} cells, expected {len(self.columns)}")


@dataclass(frozen=True)
class ReportData:
    """Everything the report draws. Arrays are copied and made read-only.

    beat_t_s, rr_ms: beat times (s since session start) and raw RR intervals (ms), one per beat.
    artifacts: per-beat label; ``"normal"`` (or ``""``) for clean beats, anything else is marked.
    phases: the session's phases; events: markers and device events.
    rmssd, coherence: rolling series (``None`` if not available).
    spectra: one spectrum per phase (any subset of baseline / practice / recovery).
    poincare_x_ms, poincare_y_ms: RR(n) and RR(n+1) of successive valid beats (see :func:`poincare_points`).
    tables: comparison tables (shown in the HTML report).
    """

    title: str
    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    artifacts: tuple[str, ...] = ()
    phases: tuple[ReportPhase, ...] = ()
    events: tuple[ReportEvent, ...] = ()
    rmssd: Series | None = None
    coherence: Series | None = None
    spectra: tuple[PhaseSpectrum, ...] = ()
    poincare_x_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    poincare_y_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    tables: tuple[ReportTable, ...] = ()
    subtitle: str = ""
    assessment: Any = None  # a resonance assessment's figure data (sessions/assessment_report.py)
    summary: str = ""  # one sentence at the top (compare's :func:`~sessions.compare_text.summary_sentence`)
    poincare_phase: tuple[str, ...] = ()  # the phase of each Poincaré pair (colours and SD1/SD2 ellipses)
    lang: str = "en"  # language of the figure's titles, labels and legends
    legend: str = ""  # what the tables' marks mean (HTML, under the tables)

    def __post_init__(self) -> None:
        for name in ("beat_t_s", "rr_ms", "poincare_x_ms", "poincare_y_ms"):
            object.__setattr__(self, name, _array(getattr(self, name), name))
        for name in ("artifacts", "phases", "events", "spectra", "tables", "poincare_phase"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.beat_t_s.shape != self.rr_ms.shape:
            raise ValueError(f"ReportData: {self.beat_t_s.size} beat times but {self.rr_ms.size} RR intervals")
        if self.artifacts and len(self.artifacts) != self.rr_ms.size:
            raise ValueError(f"ReportData: {len(self.artifacts)} artifact labels for {self.rr_ms.size} beats")
        if self.poincare_x_ms.shape != self.poincare_y_ms.shape:
            raise ValueError("ReportData: Poincaré x and y differ in length")
        if self.poincare_phase and len(self.poincare_phase) != self.poincare_x_ms.size:
            raise ValueError("ReportData: one phase per Poincaré pair")

    def artifact_mask(self) -> np.ndarray:
        """True for beats labelled as anything but ``"normal"``/``""``."""
        if not self.artifacts:
            return np.zeros(self.rr_ms.size, dtype=bool)
        return np.array([a not in ("normal", "") for a in self.artifacts], dtype=bool)


def poincare_mask(
    n: int,
    valid: Sequence[bool] | np.ndarray | None = None,
    breaks: Sequence[bool] | np.ndarray | None = None,
) -> np.ndarray:
    """Which of the ``n - 1`` successive pairs ``(n, n+1)`` count: both beats valid and no gap right
    before beat n+1 (``breaks[n+1]``)."""
    if n < 2:
        return np.zeros(0, dtype=bool)
    ok = np.ones(n - 1, dtype=bool)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        ok &= v[:-1] & v[1:]
    if breaks is not None:
        ok &= ~np.asarray(breaks, dtype=bool)[1:]
    return ok


def poincare_points(
    rr_ms: Sequence[float] | np.ndarray,
    valid: Sequence[bool] | np.ndarray | None = None,
    breaks: Sequence[bool] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(RR(n), RR(n+1))`` for successive pairs of valid beats (ms); a pair is skipped when either beat is
    invalid or a gap came right before beat n+1 (``breaks[n+1]``; :func:`poincare_mask`)."""
    rr = np.asarray(rr_ms, dtype=float)
    if rr.size < 2:
        return np.empty(0), np.empty(0)
    ok = poincare_mask(rr.size, valid, breaks)
    return rr[:-1][ok], rr[1:][ok]


def line_envelope(x: np.ndarray, y: np.ndarray, columns: int = FIGURE_WIDTH_PX) -> tuple[np.ndarray, np.ndarray]:
    """The points of the line ``(x, y)`` that can show on a figure ``columns`` pixels wide.

    ``x`` is cut into ``columns`` equal spans (one per pixel column of the whole figure, so at least
    as fine as any panel's); of each span the first, lowest, highest and last points are kept, in
    their order, and the points on either side of every change between a number and NaN (where the
    line breaks and resumes). Drawn, the line covers the same pixels: within a column it spans the
    same lowest-highest range and enters and leaves it at the same values. A line of at most
    ``4 * columns`` points, or with ``x`` not in ascending order, is returned whole."""
    n = int(x.size)
    if n <= 4 * columns or not bool(np.all(np.diff(x) >= 0)):
        return x, y
    span = float(x[-1] - x[0])
    if not math.isfinite(span) or span <= 0.0:
        return x, y
    col = np.minimum(((x - x[0]) * (columns / span)).astype(np.intp), columns - 1)
    first = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    last = np.r_[first[1:] - 1, n - 1]
    finite = np.isfinite(y)
    low = _first_extreme(np.where(finite, y, np.inf), col, first)  # per column, lowest first
    high = _first_extreme(np.where(finite, -y, np.inf), col, first)  # per column, highest first
    edges = np.flatnonzero(finite[1:] != finite[:-1])  # the line breaks or resumes after these points
    keep = np.unique(np.concatenate([first, last, low, high, edges, edges + 1]))
    return x[keep], y[keep]


def _first_extreme(v: np.ndarray, col: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per run of equal ``col`` (the runs start at ``first``), the index of the first smallest ``v``."""
    lowest = np.minimum.reduceat(v, first)
    at = np.flatnonzero(v == lowest[np.cumsum(np.r_[False, col[1:] != col[:-1]])])
    return at[np.r_[True, col[at][1:] != col[at][:-1]]]


@dataclass(frozen=True)
class ReportFigure:
    """The drawn figure and its panels (so tests and callers can check what was drawn)."""

    figure: Figure
    tachogram: Axes
    trend: Axes
    trend_coherence: Axes
    spectra: Axes
    poincare: Axes
    heading: Text  # the title, summary and subtitle above the panels

    @property
    def panels(self) -> tuple[Axes, Axes, Axes, Axes]:
        return (self.tachogram, self.trend, self.spectra, self.poincare)


def _t(key: str, lang: str, **values: object) -> str:
    from biofeedback.practices.texts import fill, lookup

    return fill(lookup(key, lang) or key, values)


def sd1_sd2(x_ms: np.ndarray, y_ms: np.ndarray) -> tuple[float, float]:
    """Poincaré SD1 and SD2 (ms) of the pairs ``(RR(n), RR(n+1))``: the sample SDs across and along the
    identity line, ``SD1 = SD((y − x)/√2)``, ``SD2 = SD((y + x)/√2)`` (Brennan, Palaniswami & Kamen
    2001, doi:10.1109/10.959330); NaN with fewer than 3 pairs."""
    if x_ms.size < 3:
        return math.nan, math.nan
    return float(np.std((y_ms - x_ms) / math.sqrt(2), ddof=1)), float(np.std((y_ms + x_ms) / math.sqrt(2), ddof=1))


#: Tick steps of the time axis, seconds: the first giving at most 10 ticks is used.
TIME_TICK_STEPS_S = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def time_formatter(duration_s: float):  # type: ignore[no-untyped-def]
    """Tick labels and locator for a time axis in seconds: ``h:mm`` from an hour on, else ``m:ss``,
    ticks on whole minutes or hours (at most 10). Returns ``(formatter, locator, unit)``."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    step = next((s for s in TIME_TICK_STEPS_S if duration_s / s <= 10), TIME_TICK_STEPS_S[-1])
    if duration_s >= 3600:
        return FuncFormatter(lambda v, _: f"{int(v // 3600)}:{int(v % 3600 // 60):02d}"), MultipleLocator(step), "h:mm"
    return FuncFormatter(lambda v, _: f"{int(v // 60)}:{int(v % 60):02d}"), MultipleLocator(step), "m:ss"


def event_levels(times_s: Sequence[float], span_s: float, min_gap_frac: float = 0.04, levels: int = 4) -> list[int]:
    """A label row (0..levels-1) for each event time so that labels closer than ``min_gap_frac`` of the
    axis never share a row (they would overlap); far-apart events go back to row 0."""
    out: list[int] = []
    last_at: dict[int, float] = {}
    gap = max(span_s, 1e-9) * min_gap_frac
    for t in times_s:
        row = next((r for r in range(levels) if t - last_at.get(r, -math.inf) >= gap), len(out) % levels)
        last_at[row] = t
        out.append(row)
    return out


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten_label(value: float) -> str:
    """``"10³"`` for 1000 (a tick of a log axis), ``""`` for a value that is not a power of ten."""
    if not value > 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    if not math.isclose(value, 10.0 ** exponent, rel_tol=1e-9):
        return ""
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


#: The figure's fixed layout (pixels at FIGURE_DPI): room above the heading, per heading line (12 pt),
#: for the first panel's title; the margins left (tick labels and y label), right (the coherence
#: axis) and below (tick labels and x label); the gaps between panels as fractions of a panel.
_SUPTITLE_TOP_PX = 8
_SUPTITLE_LINE_PX = 20
_TITLE_PX = 30
_LEFT_PX = 72
_RIGHT_PX = 62
_BOTTOM_PX = 52
_HSPACE = 0.3
_WSPACE = 0.16


def heading_text(data: ReportData) -> str:
    """The text above the panels: the title, the summary sentence and the subtitle, each wrapped."""
    import textwrap

    head = [textwrap.fill(data.title, 90)]
    if data.summary:
        head.append(textwrap.fill(data.summary, 125))
    if data.subtitle:
        head.append(textwrap.fill(data.subtitle, 120))
    return "\n".join(head)


def build_figure(data: ReportData, *, heading_lines: int | None = None) -> ReportFigure:
    """Draw the four panels for ``data`` on a new matplotlib Figure (Agg canvas; pyplot is not used, so
    no global state is touched). The panels start under ``heading_lines`` lines of heading (default:
    as many as :func:`heading_text` has)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    L = data.lang
    heading = heading_text(data)
    if heading_lines is None:
        heading_lines = heading.count("\n") + 1
    # A fixed layout (margins in pixels, below) instead of matplotlib's constrained layout, which
    # measures every tick label of every panel twice more (~1 s of a 24 h report).
    fig = Figure(figsize=FIGURE_SIZE_IN, dpi=FIGURE_DPI)
    FigureCanvasAgg(fig)
    heading_artist = fig.suptitle(heading, fontsize=12, y=1.0 - _SUPTITLE_TOP_PX / FIGURE_HEIGHT_PX)
    top_px = _SUPTITLE_TOP_PX + _SUPTITLE_LINE_PX * heading_lines + _TITLE_PX
    grid = fig.add_gridspec(3, 2, height_ratios=(1.2, 1.0, 1.2), left=_LEFT_PX / FIGURE_WIDTH_PX,
                            right=1.0 - _RIGHT_PX / FIGURE_WIDTH_PX, top=1.0 - top_px / FIGURE_HEIGHT_PX,
                            bottom=_BOTTOM_PX / FIGURE_HEIGHT_PX, hspace=_HSPACE, wspace=_WSPACE)
    tach = fig.add_subplot(grid[0, :])
    trend = fig.add_subplot(grid[1, :], sharex=tach)
    spectra = fig.add_subplot(grid[2, 0])
    poincare = fig.add_subplot(grid[2, 1])
    duration = float(data.beat_t_s[-1]) if data.beat_t_s.size else 0.0
    formatter, locator, unit = time_formatter(duration)

    def phase_name(name: str) -> str:
        return _t(f"compare.phase.{name}", L) if name in (*PHASE_COLOURS, "whole") else name

    # 1. Tachogram.
    for phase in data.phases:
        for ax in (tach, trend):
            ax.axvspan(phase.start_s, phase.end_s, color=PHASE_SHADES.get(phase.name, "#f3f3f3"), zorder=0,
                       label=phase_name(phase.name) if ax is tach else None)
    # a 24 h tachogram holds ~100 000 beats for ~1 100 pixel columns: only the points that can show
    tach.plot(*line_envelope(data.beat_t_s, data.rr_ms), color="#2f4f6f", linewidth=0.8, label="RR", zorder=2)
    mask = data.artifact_mask()
    if mask.any():
        many = int(mask.sum()) > 200  # a long recording: smaller crosses, or they hide the line
        tach.plot(data.beat_t_s[mask], data.rr_ms[mask], linestyle="none", marker="X", color="#d0311f",
                  markeredgecolor="white", markeredgewidth=0.3 if many else 0.6, markersize=4 if many else 8, zorder=5,
                  label=_t("report.artifacts", L, n=int(mask.sum())))
    levels = event_levels([ev.t_s for ev in data.events], duration)
    for ev, level in zip(data.events, levels):
        tach.axvline(ev.t_s, color="#7a5c99", linewidth=0.8, linestyle="--", zorder=3)
        tach.annotate(ev.label, xy=(ev.t_s, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2 - 14 * level),
                      textcoords="offset points", fontsize=7, color="#7a5c99", va="top",
                      bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    tach.set_title(_t("report.tachogram", L), y=1.0)
    tach.set_ylabel("RR (ms)")
    tach.legend(loc="lower right", fontsize=8, ncols=5, framealpha=0.85)

    # 2. Rolling RMSSD and coherence.
    coh_ax = trend.twinx()
    if data.rmssd is not None:
        trend.plot(*line_envelope(data.rmssd.t_s, data.rmssd.values), color="#2e7d8c", linewidth=1.2, label="RMSSD (ms)")
    if data.coherence is not None:
        coh_ax.plot(*line_envelope(data.coherence.t_s, data.coherence.values), color="#c28a2e", linewidth=1.2,
                    label=_t("compare.idx.coherence", L))
    trend.set_title(_t("report.trend", L), y=1.0)
    trend.xaxis.set_major_formatter(formatter)
    trend.xaxis.set_major_locator(locator)
    trend.set_xlabel(_t("report.time", L, unit=unit))
    trend.set_ylabel("RMSSD (ms)", color="#2e7d8c")
    coh_ax.set_ylabel(_t("compare.idx.coherence", L), color="#c28a2e")
    handles = trend.get_legend_handles_labels()[0] + coh_ax.get_legend_handles_labels()[0]
    if handles:
        trend.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)

    # 3. Spectra per phase, on a log scale (the practice's peak would flatten the rest).
    spectra.axvspan(*LF_BAND_HZ, color="#f4f4f4", zorder=0)
    drawn = False
    for spectrum in data.spectra:
        keep = (spectrum.psd_ms2_hz > 0) & (spectrum.freq_hz > 0)
        if keep.any():
            spectra.plot(spectrum.freq_hz[keep], spectrum.psd_ms2_hz[keep], color=PHASE_COLOURS.get(spectrum.phase),
                         linewidth=1.3, label=phase_name(spectrum.phase))
            drawn = True
    if drawn:
        spectra.set_yscale("log")
        from matplotlib.ticker import FuncFormatter, NullFormatter

        # decades as 10³ in plain text: matplotlib's default 10^3 labels go through its mathtext
        # parser (~0.2 s to build) for the same look
        spectra.yaxis.set_major_formatter(FuncFormatter(lambda v, _: power_of_ten_label(v)))
        spectra.yaxis.set_minor_formatter(NullFormatter())
        # Four decades under the highest peak: deep notches of a short phase's spectrum would
        # otherwise take most of the height.
        top = max(float(sp.psd_ms2_hz[(sp.freq_hz > 0) & (sp.freq_hz <= 0.5)].max(initial=0.0)) for sp in data.spectra)
        if top > 0:
            spectra.set_ylim(top * 1e-4, top * 3)
    for edge in (*LF_BAND_HZ, HF_BAND_HZ[1]):
        spectra.axvline(edge, color="#bbbbbb", linewidth=0.6)
    for name, (lo_hz, hi_hz) in (("LF", LF_BAND_HZ), ("HF", HF_BAND_HZ)):
        spectra.annotate(name, xy=((lo_hz + hi_hz) / 2, 1.0), xycoords=("data", "axes fraction"), xytext=(0, -3),
                         textcoords="offset points", ha="center", va="top", fontsize=8, color="#888888")
    spectra.set_xlim(0.0, 0.5)
    spectra.set_title(_t("report.spectra", L), y=1.0)
    spectra.set_xlabel(_t("report.frequency", L))
    spectra.set_ylabel(_t("report.psd", L))
    if drawn:
        spectra.legend(fontsize=8)

    # 4. Poincaré, coloured by phase, with each phase's SD1/SD2 ellipse.
    x, y = data.poincare_x_ms, data.poincare_y_ms
    groups = sorted(set(data.poincare_phase), key=lambda n: list(PHASE_COLOURS).index(n) if n in PHASE_COLOURS else 9) \
        if data.poincare_phase else [""]
    phases_of = np.array(data.poincare_phase) if data.poincare_phase else None
    for name in groups:
        sel = np.ones(x.size, dtype=bool) if phases_of is None else phases_of == name
        colour = PHASE_COLOURS.get(name, "#4a90c2")
        sd1, sd2 = sd1_sd2(x[sel], y[sel])
        label = phase_name(name) if name else None
        if math.isfinite(sd1):
            label = f"{label + ': ' if label else ''}SD1 {sd1:.0f} · SD2 {sd2:.0f} ms"
        poincare.plot(x[sel], y[sel], linestyle="none", marker=".", markersize=3, color=colour, alpha=0.5,
                      label=label)
        if math.isfinite(sd1):
            cx, cy = float(np.mean(x[sel])), float(np.mean(y[sel]))
            poincare.add_patch(Ellipse((cx, cy), width=2 * sd2, height=2 * sd1, angle=45.0, fill=False,
                                       edgecolor=ELLIPSE_COLOURS.get(name, "#163a5c"), linewidth=1.8, zorder=4))
    if x.size:
        lo = float(min(x.min(), y.min()))
        hi = float(max(x.max(), y.max()))
        poincare.plot([lo, hi], [lo, hi], color="#bbbbbb", linewidth=0.8)
        poincare.legend(fontsize=7, loc="upper left", framealpha=0.85, markerscale=3)
    poincare.set_aspect("equal", adjustable="datalim")
    poincare.set_title(_t("report.poincare", L), y=1.0)
    poincare.set_xlabel("RR(n) (ms)")
    poincare.set_ylabel("RR(n+1) (ms)")
    return ReportFigure(fig, tach, trend, coh_ax, spectra, poincare, heading_artist)


def figure_png(data: ReportData) -> bytes:
    """The report figure as PNG bytes, ``FIGURE_WIDTH_PX`` x ``FIGURE_HEIGHT_PX`` pixels."""
    drawn = build_figure(data)
    drawn.figure.canvas.draw()
    return _png(drawn.figure)


def _png(figure: Figure) -> bytes:
    """The pixels drawn on ``figure``'s Agg canvas as PNG bytes (what ``savefig`` writes after its
    own draw)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):  # pragma: no cover - build_figure gives it one
        raise TypeError("the report figure is drawn on an Agg canvas")
    buf = io.BytesIO()
    imsave(buf, np.asarray(canvas.buffer_rgba()), format="png", origin="upper", dpi=FIGURE_DPI)
    return buf.getvalue()


class FigureDraft:
    """The report figure drawn before the comparison is known (``biofeedback report``'s helper
    process draws it meanwhile, :mod:`sessions.report_worker`): every panel of ``data`` (its summary
    still empty), under room for the heading with a summary of one line, the usual length, when
    ``data`` has a baseline and a practice phase (the summary compares them), else of none.

    :meth:`png` then adds the heading of the final data. The heading is the figure's last artist
    (text is drawn after the panels), so drawing it onto the drafted panels gives the pixels of
    :func:`figure_png` of the final data; a summary of another number of lines moves the panels,
    and the figure is then drawn again whole. Either way the bytes are those of :func:`figure_png`
    (``tests/sessions/test_report_worker.py``).
    """

    def __init__(self, data: ReportData):
        self.data = data
        # compare's summary sentence is about the practice against the baseline: one line is
        # expected when both phases are there, none otherwise (an import)
        expected = not data.summary and {"baseline", "practice"} <= {p.name for p in data.phases}
        self._lines = heading_text(data).count("\n") + 1 + (1 if expected else 0)
        self._drawn = build_figure(data, heading_lines=self._lines)
        self._drawn.heading.set_text("")
        self._drawn.figure.canvas.draw()

    def png(self, final: ReportData) -> bytes:
        """:func:`figure_png` of ``final``: :attr:`data` with its summary filled in."""
        heading = heading_text(final)
        if heading.count("\n") + 1 != self._lines:
            return figure_png(final)
        self._drawn.heading.set_text(heading)
        self._drawn.figure.draw_artist(self._drawn.heading)
        return _png(self._drawn.figure)


def report_html(data: ReportData, png: bytes, extra_pngs: Sequence[bytes] = ()) -> str:
    """A self-contained HTML page: the title, the figure(s) (base64 PNG, ``extra_pngs`` first) and the tables."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(data.lang)}"><head><meta charset="utf-8">',
        f"<title>{e(data.title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#223}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccd;padding:.3em .7em;text-align:right}"
        "th:first-child,td:first-child{text-align:left}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{e(data.title)}</h1>",
    ]
    if data.summary:
        parts.append(f"<p><strong>{e(data.summary)}</strong></p>")
    if data.subtitle:
        parts.append(f"<p>{e(data.subtitle)}</p>")
    if data.phases:
        spans = ", ".join(f"{e(_t('compare.phase.' + p.name, data.lang))} {p.start_s:.0f}-{p.end_s:.0f} s"
                          for p in data.phases)
        parts.append(f"<p>{e(_t('report.phases', data.lang))}: {spans}</p>")
    for image in (*extra_pngs, png):
        parts.append(f'<img alt="{e(data.title)}" src="data:image/png;base64,{base64.b64encode(image).decode("ascii")}">')
    for table in data.tables:
        parts.append(f"<h2>{e(table.title)}</h2>")
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in table.columns) + "</tr></thead><tbody>")
        for row in table.rows:
            parts.append("<tr>" + "".join(f"<td>{e(format_cell(c))}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
    if data.legend and data.tables:
        parts.append(f"<p>{e(data.legend)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def format_cell(value: str | float | int | None) -> str:
    """A table cell as text: numbers with up to 4 significant digits, ``None``/NaN as "—"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


def report_bytes(data: ReportData, kind: str, *, png: bytes | None = None) -> bytes:
    """The report as ``"png"`` (the figure) or ``"html"`` (figure + tables) bytes. An assessment
    session's own figure comes first (its ``png`` is that figure). ``png``: :func:`figure_png` of
    ``data`` when already drawn."""
    if png is None:
        png = figure_png(data)
    if data.assessment is not None:
        from sessions.assessment_report import assessment_png

        extra = assessment_png(data.assessment)
        return extra if kind == "png" else report_html(data, png, (extra,)).encode("utf-8")
    return png if kind == "png" else report_html(data, png).encode("utf-8")


def render_report(data: ReportData, out_path: str | Path, *, force: bool = True,
                  draw: Callable[[ReportData, str], bytes] | None = None) -> Path:
    """Write the report to ``out_path``: ``.png`` (the figure) or ``.html`` (figure + tables).

    The file is created with mode 0600, atomically. Returns the path. :class:`InputError` for another
    suffix, a directory that does not exist, a target that is not a regular file, or an existing file
    unless ``force`` (see :func:`sessions.exporting.check_output_target`). ``draw`` makes the bytes
    (default :func:`report_bytes`; ``biofeedback report`` passes a
    :class:`~sessions.report_worker.FigureWorker`'s, which gives the same bytes).
    """
    from sessions.exporting import check_output_target, open_private_output

    path = Path(out_path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise InputError("report must be a .png or .html file", path=path)
    if not path.parent.is_dir():
        raise InputError("directory does not exist", path=path.parent)
    check_output_target(path, force=force)
    content = (draw or report_bytes)(data, "png" if suffix == ".png" else "html")
    with open_private_output(path, force=force, binary=True) as f:
        f.write(content)
    return path

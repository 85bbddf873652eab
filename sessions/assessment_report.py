"""The figure of a resonance-frequency assessment session, for ``biofeedback report``.

Left: the heart-rate wave at each rate (HR of the valid beats against time within the analysed stretch,
one trace per rate, stacked, with the pacer's inhalations shaded), the chosen rate drawn bold. Right, the
criteria against the rate: HR peak-to-trough per breath (bpm; for the sliding protocol also every breath
and the smoothed sweep), LF peak power (ms²), the HR-pacer phase (degrees, 0 at resonance) and
coherence with smoothness (R²). The chosen rate and the runner-up are marked on every panel; a result
that asks to repeat the assessment says so in the title.

Drawn with matplotlib's Agg backend (imported inside the functions); no pyplot.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from biofeedback.resonance import AssessmentResult

FIGURE_SIZE_IN = (12.0, 9.0)
FIGURE_DPI = 100
PANEL_TITLES = ("Heart rate at each rate", "Peak-to-trough", "LF peak power", "HR-pacer phase",
                "Coherence and smoothness")


@dataclass(frozen=True)
class RateWave:
    """HR (bpm) of the valid beats of one analysed stretch, ``t_s`` from its start, and the inhalations
    ``(start_s, end_s)`` within it."""

    rate_bpm: float
    t_s: np.ndarray
    hr_bpm: np.ndarray
    inhalations: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class AssessmentFigure:
    """Everything the assessment figure draws."""

    result: AssessmentResult
    waves: tuple[RateWave, ...]
    title: str = "Resonance assessment"


def assessment_figure_data(store: Any, session_id: str) -> AssessmentFigure:
    """The figure's data for a stored assessment session: the kept result (recomputed when none was
    kept) and the HR wave of each analysed stretch."""
    from biofeedback.hrv.artifacts import detect_artifacts
    from sessions.assessments import analyse_session, get_assessment, session_schedule, stored_beat_arrays

    stored = get_assessment(store, session_id)
    result = stored.result if stored is not None else analyse_session(store, session_id)
    schedule, p0 = session_schedule(store, session_id)
    t, rr, breaks = stored_beat_arrays(store, session_id)
    valid = detect_artifacts(rr, t, breaks).valid & ~breaks if t.size else np.zeros(0, dtype=bool)
    waves = []
    for r in result.rates:
        sel = (t >= r.start_s) & (t < r.end_s) & valid
        inhalations = tuple(
            (p0 + b.onset_s - r.start_s, p0 + b.onset_s + b.inhale_s - r.start_s)
            for b in schedule.breaths if r.start_s - 1e-6 <= p0 + b.onset_s < r.end_s - 1e-6
        )
        waves.append(RateWave(r.rate_bpm, t[sel] - r.start_s, 60000.0 / rr[sel], inhalations))
    info = store.get_session(session_id)
    title = f"Resonance assessment ({result.protocol}) · session {session_id} · {info.start_wall[:16].replace('T', ' ')}"
    return AssessmentFigure(result, tuple(waves), title)


def _verdict(result: AssessmentResult) -> str:
    if result.status != "ok":
        return f"too little usable ({result.reason}): repeat the assessment"
    runner = "-" if result.runner_up_bpm is None else f"{result.runner_up_bpm:g}"
    return f"resonance rate {result.resonance_rate_bpm:g} breaths/min (runner-up {runner})"


def build_assessment_figure(data: AssessmentFigure) -> Any:
    """Draw the figure (a matplotlib ``Figure`` on an Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    res = data.result
    fig = Figure(figsize=FIGURE_SIZE_IN, dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(f"{data.title}\n{_verdict(res)}", fontsize=12)
    grid = fig.add_gridspec(4, 2, width_ratios=(1.1, 1.0))
    waves_ax = fig.add_subplot(grid[:, 0])
    pt_ax, lf_ax, ph_ax, coh_ax = (fig.add_subplot(grid[i, 1]) for i in range(4))
    for ax, title in zip((waves_ax, pt_ax, lf_ax, ph_ax, coh_ax), PANEL_TITLES):
        ax.set_title(title, fontsize=10, loc="left")

    chosen = res.resonance_rate_bpm
    # Left: stacked HR waves, the fastest rate on top.
    offset = 0.0
    ticks, labels = [], []
    for w in data.waves:
        if w.hr_bpm.size == 0:
            continue
        centred = w.hr_bpm - float(np.median(w.hr_bpm))
        span = max(6.0, float(np.nanmax(centred) - np.nanmin(centred)))
        base = offset - float(np.nanmax(centred))
        lo, hi = base + float(np.nanmin(centred)), base + float(np.nanmax(centred))
        for a, b in w.inhalations:  # the pacer's inhalations, shaded within this trace's band
            waves_ax.fill_between([a, b], lo, hi, color="#e3eef8", lw=0, zorder=0)
        is_chosen = chosen is not None and abs(w.rate_bpm - chosen) < 0.13
        waves_ax.plot(w.t_s, centred + base, color="#c0392b" if is_chosen else "#4a90c2",
                      lw=2.0 if is_chosen else 1.0)
        ticks.append(base)
        labels.append(f"{w.rate_bpm:g}/min")
        offset = base + float(np.nanmin(centred)) - 0.25 * span
    waves_ax.set_yticks(ticks, labels)
    waves_ax.set_xlabel("time in the stretch (s); shaded: breathing in")
    waves_ax.set_ylabel("heart rate (bpm, centred per rate)")

    rates = np.array([r.rate_bpm for r in res.rates])
    usable = np.array([r.usable for r in res.rates], dtype=bool)

    def plot(ax: Any, values: list[float], label: str, colour: str, marker: str = "o") -> None:
        v = np.array(values, dtype=float)
        ax.plot(rates, v, color=colour, lw=1.0, alpha=0.6)
        ax.scatter(rates[usable], v[usable], color=colour, marker=marker, zorder=3, label=label)
        if (~usable).any():
            ax.scatter(rates[~usable], v[~usable], facecolors="none", edgecolors=colour, marker=marker, zorder=3,
                       label=f"{label} (not usable)")

    if res.sweep is not None:
        sw_r = np.array(res.sweep.rate_bpm)
        pt_ax.plot(sw_r, np.array(res.sweep.peak_trough_bpm), ".", color="#9e9e9e", ms=4, label="each breath (fitted wave)")
        pt_ax.plot(sw_r, np.array(res.sweep.smoothed_bpm), color="#555555", lw=1.5, label="smoothed (7 breaths)")
    plot(pt_ax, [r.peak_trough_bpm for r in res.rates], "per rate", "#c0392b")
    pt_ax.set_ylabel("bpm")
    plot(lf_ax, [r.lf_peak_power_ms2 for r in res.rates], "LF peak", "#4a90c2")
    lf_ax.set_ylabel("ms²")
    plot(ph_ax, [r.phase_deg for r in res.rates], "phase", "#8e44ad")
    ph_ax.axhline(0.0, color="#999999", lw=0.8)
    ph_ax.set_ylabel("degrees (> 0: HR leads)")
    plot(coh_ax, [r.coherence for r in res.rates], "coherence", "#4caf7d")
    twin = coh_ax.twinx()
    twin.plot(rates, [r.smoothness for r in res.rates], "s--", color="#e67e22", ms=4, lw=1.0, label="R²")
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("R² (smoothness)")
    coh_ax.set_ylabel("coherence ratio")
    coh_ax.set_xlabel("breathing rate (breaths/min)")
    for ax in (pt_ax, lf_ax, ph_ax, coh_ax):
        if chosen is not None:
            ax.axvline(chosen, color="#c0392b", lw=1.2, ls="-", alpha=0.7)
        if res.runner_up_bpm is not None:
            ax.axvline(res.runner_up_bpm, color="#c0392b", lw=0.8, ls=":", alpha=0.7)
        ax.invert_xaxis()  # the assessment goes from fast to slow
        ax.grid(alpha=0.3)
    pt_ax.legend(fontsize=7, loc="best")
    return fig


def assessment_png(data: AssessmentFigure) -> bytes:
    """The assessment figure as PNG bytes (1200 x 900 pixels)."""
    fig = build_assessment_figure(data)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return buf.getvalue()

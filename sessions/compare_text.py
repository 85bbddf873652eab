"""The words and numbers of a comparison, in English or Dutch: what ``compare``, ``report`` and the app show.

Plain strings (no terminal codes): :mod:`biofeedback.cli.tables` lays them out as tables on a
terminal, :mod:`sessions.report_data` in the report. The texts are
``biofeedback/practices/prompts/{en,nl}.toml`` (keys ``compare.*``).
"""

from __future__ import annotations

import math

from biofeedback.practices.texts import format_number, say
from sessions.compare import (
    INDEX_KEYS,
    LABELS,
    MIN_DATA_S,
    MIN_DATA_SLACK_S,
    MIN_SUBWINDOWS,
    PHASE_NAMES,
    SUBWINDOW_S,
    WHOLE,
    Change,
    PhaseComparison,
    PhaseIndices,
)

__all__ = ["index_label", "phase_label", "format_value", "format_change", "phase_verdict", "summary_sentence",
           "missing_reasons"]


def _spec(key: str) -> str:
    """The format spec of an index in tables: whole ms² for powers, 2 decimals for ratios, else 1."""
    if key in ("lf_ms2", "hf_ms2"):
        return ".0f"
    if key in ("ln_rmssd", "lf_hf", "coherence"):
        return ".2f"
    return ".1f"



def _t(key: str, lang: str, **values: object) -> str:
    """A comparison text of ``lang`` (``biofeedback/practices/prompts/{en,nl}.toml``), filled."""
    return say(key, lang, **values)



def phase_verdict(p: PhaseIndices, lang: str = "en") -> str:
    """The phase's signal-quality verdict, ``good``/``fair``/``poor`` (docs/artifacts.md) in ``lang``, or "—"."""
    q = p.quality
    if q is None or not math.isfinite(q.valid_pct):
        return "—"
    return _t(f"compare.verdict.{q.verdict}", lang)



def index_label(key: str, lang: str = "en") -> str:
    """The index's name in ``lang`` (``"heart rate"``, ``"hartslag"``)."""
    return _t(f"compare.idx.{key}", lang)


def phase_label(name: str, lang: str = "en") -> str:
    """A phase's name in ``lang`` (``"baseline"``, ``"rustmeting"``)."""
    return _t(f"compare.phase.{name}", lang) if name in (*PHASE_NAMES, WHOLE) else name


def _num(v: float, key: str, lang: str) -> str:
    return format_number(v, _spec(key), lang)


def format_value(v: float | None, key: str, lang: str = "en") -> str:
    """An index value as ``compare`` shows it (``—`` when not available; decimal comma in Dutch)."""
    if v is None or not math.isfinite(v):
        return "—"
    return _num(v, key, lang)


def _signed(v: float, key: str, lang: str) -> str:
    sign = "+" if v > 0 else ("−" if v < 0 else "±")
    return sign + _num(abs(v), key, lang)


def format_change(ch: Change, key: str, lang: str = "en", *, with_range: bool = True) -> str:
    """A change as ``compare`` shows it: ``−2.2 (−3.1…−1.2) ↓`` = the change, its 95 % range over
    sub-windows, and ``↑``/``↓`` beyond noise, ``≈`` within noise, ``?`` not judged; ``—`` not available."""
    if ch.abs is None:
        return "—"
    text = _signed(ch.abs, key, lang)
    if ch.ci95 is not None and with_range:
        text += f" ({_signed(ch.ci95[0], key, lang)}…{_signed(ch.ci95[1], key, lang)})"
    if ch.beyond_noise is None:
        return text + " ?"
    if ch.beyond_noise:
        return text + (" ↑" if ch.abs > 0 else " ↓")
    return text + " ≈"


def missing_reasons(comparison: PhaseComparison, lang: str) -> tuple[list[str], list[str]]:
    """(folded items, detailed lines) for what is missing or not judged, in ``lang``."""
    base = comparison.phase("baseline")
    lines: list[str] = []
    for p in comparison.phases:
        for key in INDEX_KEYS:
            iv = p.indices[key]
            if iv.value is not None:
                continue
            label, phase = index_label(key, lang), phase_label(p.name, lang)
            if p.n_beats and p.data_s < MIN_DATA_S[key] - MIN_DATA_SLACK_S:
                lines.append(_t("compare.too_short", lang, label=label, phase=phase, need=f"{MIN_DATA_S[key]:g}",
                                has=_num(math.floor(p.data_s * 10) / 10, "rmssd_ms", lang)))
            elif key == "relaxation" and (iv.reason or "").startswith("no baseline"):
                lines.append(_t("compare.no_baseline", lang, label=label, phase=phase))
            else:
                lines.append(_t("compare.other", lang, label=label, phase=phase, reason=iv.reason or "—"))
    unjudged: dict[str, list[str]] = {}
    for name, changes in comparison.changes.items():
        for key in INDEX_KEYS:
            ch = changes[key]
            if ch.beyond_noise is not None:
                continue
            unjudged.setdefault(name, []).append(key)
            if ch.abs is None or base is None:
                continue
            lines.append(_t("compare.few_windows", lang, label=index_label(key, lang), phase=phase_label(name, lang),
                            base=phase_label("baseline", lang), n=MIN_SUBWINDOWS, w=f"{SUBWINDOW_S[key]:g}",
                            na=ch.n_subwindows[0], nb=ch.n_subwindows[1]))
    items = []
    for name, keys in unjudged.items():
        what = _t("compare.all", lang) if len(keys) == len(INDEX_KEYS) else ", ".join(index_label(k, lang) for k in keys)
        items.append(f"{phase_label(name, lang)}: {what}")
    return items, list(dict.fromkeys(lines))


def summary_sentence(comparison: PhaseComparison, lang: str = "en", key: str = "rmssd_ms") -> str | None:
    """One sentence on the practice's change of ``key`` from the baseline (``None`` without one)."""
    ch = comparison.changes.get("practice", {}).get(key)
    if ch is None or ch.abs is None:
        return None
    phase = phase_label("practice", lang)
    if ch.beyond_noise is None:
        return _t("compare.summary_unjudged", lang, phase=phase)
    unit = LABELS[key][1]
    change = _num(abs(ch.abs), key, lang) + (f" {unit}" if unit else "")
    if ch.rel_pct is not None and math.isfinite(ch.rel_pct):
        change += f" ({abs(ch.rel_pct):.0f}%)"
    which = "compare.summary_none" if not ch.beyond_noise else (
        "compare.summary_up" if ch.abs > 0 else "compare.summary_down")
    label = _t("compare.hrv", lang) if key == "rmssd_ms" else index_label(key, lang)
    return _t(which, lang, phase=phase, label=label, change=change)


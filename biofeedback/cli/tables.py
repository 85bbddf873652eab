"""Tables on the terminal: ``compare`` (one session, or two side by side) and ``trends``, drawn with rich.

:class:`RichOutput` is the one console for these commands: colour on a terminal; plain text (no
escape codes, 140 columns, no trailing spaces) when the output is a file or a pipe. The words and
numbers come from :mod:`sessions.compare_text` (the same in the report and the app).
"""

from __future__ import annotations

import io
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from biofeedback.practices.texts import format_number, say
from sessions.compare import INDEX_KEYS, LABELS, PhaseComparison, SessionComparison
from sessions.compare_text import (
    format_change,
    format_value,
    index_label,
    missing_reasons,
    phase_label,
    phase_verdict,
    summary_sentence,
)
from sessions.trends import MIN_ROLLING_DAYS, Trends

__all__ = ["RichOutput", "render_phase_comparison", "render_session_comparison", "render_trends"]


class RichOutput:
    """A rich console for ``out``: colour on a terminal; plain text (no escape codes, 140 columns,
    no trailing spaces) otherwise. Use as a context manager; the text is written on exit."""

    def __init__(self, out: TextIO):
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.buffer: io.StringIO | None
        if self.tty:
            self.console = Console(file=out, highlight=False)
            self.buffer = None
        else:
            self.buffer = io.StringIO()
            self.console = Console(file=self.buffer, force_terminal=False, no_color=True, color_system=None,
                                   width=140, highlight=False, emoji=False)

    def __enter__(self) -> Console:
        return self.console

    def __exit__(self, *exc: object) -> None:
        if self.buffer is not None:
            text = "\n".join(line.rstrip() for line in self.buffer.getvalue().splitlines())
            self.out.write(text + "\n")


def _t(key: str, lang: str, **values: object) -> str:
    return say(key, lang, **values)


def render_phase_comparison(comparison: PhaseComparison, out: TextIO, *, lang: str = "en",
                            details: bool = False, simulated: bool = False) -> None:
    """Print the comparison as a table in ``lang`` (colour only when ``out`` is a terminal).

    One line per index; what cannot be judged is folded into one line, the reasons one per line
    with ``details``. At 80 columns only the practice-vs-baseline change is shown (and the
    recovery's too from 110 columns on); on a terminal it fits 80x24.
    """
    with RichOutput(out) as console:
        _phase_table(comparison, console, lang, details, simulated)


def _phase_table(comparison: PhaseComparison, console: Console, lang: str, details: bool, simulated: bool) -> None:
    phases = comparison.phases
    title = _t("compare.title_simulated" if simulated else "compare.title", lang, id=comparison.session_id,
               phases=" · ".join(f"{phase_label(p.name, lang)} {p.data_s / 60:.1f}".replace(".", "," if lang == "nl" else ".")
                                 for p in phases) + " min")
    table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column(_t("compare.index", lang), no_wrap=True)
    for p in phases:
        table.add_column(phase_label(p.name, lang), justify="right", no_wrap=True)
    change_names = [n for n in comparison.changes if n == "practice" or console.width >= 110]
    if not change_names:
        change_names = list(comparison.changes)[:1]
    for name in change_names:
        table.add_column(_t("compare.vs", lang, phase=phase_label(name, lang), base=phase_label("baseline", lang)),
                         no_wrap=True)
    for key in INDEX_KEYS:
        row = [f"{index_label(key, lang)} {LABELS[key][1]}".strip()]
        for p in phases:
            row.append(format_value(p.indices[key].value, key, lang))
        for name in change_names:
            ch = comparison.changes[name][key]
            cell = format_change(ch, key, lang)
            if ch.abs is not None and ch.beyond_noise and console.is_terminal:
                cell = f"[bold]{cell}[/bold]"
            row.append(cell)
        table.add_row(*row)
    table.add_row(_t("compare.signal_quality", lang), *[phase_verdict(p, lang) for p in phases],
                  *[""] * len(change_names))
    console.print(title, markup=False)
    sentence = summary_sentence(comparison, lang)
    if sentence:
        console.print(sentence, markup=False)
    console.print(table)
    if comparison.note:
        note_key = "compare.no_phases" if "no phases" in comparison.note else "compare.no_baseline_phase"
        console.print(_t(note_key, lang), markup=False)
    if comparison.changes:
        console.print(_t("compare.legend", lang), markup=False)
    items, lines = missing_reasons(comparison, lang)
    if details and lines:
        console.print(_t("compare.reasons", lang), markup=False)
        for line in lines:
            console.print("  " + line, markup=False)
    elif items:  # one line: a terminal wraps it; plain text keeps it whole
        console.print(_t("compare.folded", lang, items="; ".join(items)), markup=False,
                      soft_wrap=not console.is_terminal)


def render_session_comparison(comparison: SessionComparison, out: TextIO, *, lang: str = "en",
                              details: bool = False) -> None:
    """Print two sessions side by side, phase by phase, with B − A and its verdict (in ``lang``)."""
    with RichOutput(out) as console:
        _session_tables(comparison, console, lang, details)


def _session_tables(comparison: SessionComparison, console: Console, lang: str, details: bool) -> None:
    a, b = comparison.session_a, comparison.session_b
    notes: list[str] = []
    unjudged: list[str] = []
    for name in comparison.phase_names:
        pa, pb = comparison.a[name], comparison.b[name]
        console.print(f"{phase_label(name, lang)}: A = {a} ({pa.data_s / 60:.1f} min)  ·  B = {b} ({pb.data_s / 60:.1f} min)",
                      markup=False)
        table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, padding=(0, 1))
        for col, just in ((_t("compare.index", lang), "left"), ("", "left"), ("A", "right"), ("B", "right")):
            table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
        table.add_column("B − A", justify="left", no_wrap=True)
        for key in INDEX_KEYS:
            label = index_label(key, lang)
            ch = comparison.changes[name][key]
            table.add_row(label, LABELS[key][1], format_value(pa.value(key), key, lang),
                          format_value(pb.value(key), key, lang), format_change(ch, key, lang))
            for who, p in (("A", pa), ("B", pb)):
                if p.value(key) is None and p.indices[key].reason:
                    notes.append(_t("compare.other", lang, label=label, phase=f"{phase_label(name, lang)} {who}",
                                    reason=p.indices[key].reason or ""))
            if ch.beyond_noise is None:
                unjudged.append(f"{phase_label(name, lang)} {label}")
                if ch.abs is not None and ch.reason:
                    notes.append(_t("compare.other", lang, label=label, phase=phase_label(name, lang), reason=ch.reason))
        table.add_row(_t("compare.signal_quality", lang), "", phase_verdict(pa, lang), phase_verdict(pb, lang), "")
        console.print(table)
    for note in comparison.notes:
        console.print(note, markup=False)
    if not comparison.phase_names:
        console.print("no phase in common: nothing to compare", markup=False)
    console.print(_t("compare.legend", lang), markup=False)
    if details and notes:
        console.print(_t("compare.reasons", lang), markup=False)
        for line in dict.fromkeys(notes):
            console.print("  " + line, markup=False)
    elif unjudged:
        console.print(_t("compare.folded", lang, items=", ".join(unjudged)), markup=False,
                      soft_wrap=not console.is_terminal)


def render_trends(trends: Trends, out: TextIO, lang: str = "en") -> None:
    """Print the trends as a table in ``lang`` (colour only when ``out`` is a terminal)."""
    with RichOutput(out) as console:
        _trends_table(trends, console, lang)


def _trends_table(trends: Trends, console: Console, lang: str) -> None:
    table = Table(title=say("trends.title", lang, days=trends.days, today=trends.today.isoformat()),
                  box=box.SIMPLE_HEAVY, title_justify="left")
    goal_min = format_number(trends.goal_min, "g", lang)
    for col, just in ((say("trends.date", lang), "left"), (say("trends.sessions", lang), "right"),
                      (say("trends.rest", lang), "right"), (say("trends.mean_7d", lang), "right"),
                      (say("trends.cv_7d", lang), "right"), (say("trends.practice_min", lang), "right"),
                      (say("trends.goal", lang, min=goal_min), "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]

    def f(x: float | None, spec: str) -> str:
        return format_number(x, spec, lang)

    for r in trends.rows:
        goal = say("trends.met", lang) if r.goal_met else (
            "—" if r.practice_min == 0 else f(r.practice_min / trends.goal_min, ".0%"))
        table.add_row(r.day.isoformat(), str(r.n_sessions) if r.n_sessions else "", f(r.baseline_ln_rmssd, ".2f"),
                      f(r.rolling_mean_7d, ".2f"), f(r.cv_7d_pct, ".1f"), f(r.practice_min, ".1f") if r.practice_min
                      else "", goal)
    console.print(table)
    console.print(say("trends.summary", lang, min=f(trends.practice_min_total, ".0f"), met=trends.days_goal_met,
                      days=trends.days, need=MIN_ROLLING_DAYS), markup=False)
    if trends.n_simulated:
        console.print(say("trends.simulated", lang, n=trends.n_simulated), markup=False)

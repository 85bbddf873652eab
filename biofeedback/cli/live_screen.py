"""The live screen of a session: a pure function from a :class:`LiveState` to a rich renderable.

The runner fills a :class:`LiveState` on every frame (at >= 10 frames/s for a smooth pacer) and hands
``render_live(state)`` to ``rich.live.Live.update``. Nothing here reads a clock, the device or the store,
so the same state always draws the same screen (tests render into a recording console).

Layout, top to bottom (fixed height: nothing jumps while practising): the phase with elapsed /
remaining time and the device line (name, battery, connection; "waiting for the strap" until beats
flow); the breathing pacer (a bar whose length follows the lung volume, with its rate) or the touch
label; the heart-rate wave of the last 60 s (the heart speeding up with each in-breath and slowing
with each out-breath); the current prompt (two lines); coherence and relaxation on scales with their
low / medium / high zones (:mod:`biofeedback.hrv.zones`), RMSSD with a sparkline, artifacts and
markers -- or, while the signal is poor, one message in their place; the key hints. Unknown numbers
(``None`` or NaN) show as "—". Labels are in English or Dutch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from biofeedback.practices.pacer import PacerState
from biofeedback.practices.texts import MISSING_NUMBER, check_lang, format_number, shipped_texts

#: Shown instead of a number that is not known yet.
MISSING = MISSING_NUMBER

SPARK_CHARS = "▁▂▃▄▅▆▇█"

#: The RMSSD sparkline shows this many of the latest values (one cell each, as wide as the scales).
TREND_LEN = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"

#: Calm colours (rich colour names).
COLOURS = {
    "inhale": "sky_blue2",
    "hold_in": "light_steel_blue",
    "exhale": "medium_aquamarine",
    "hold_out": "light_steel_blue",
    "baseline": "grey70",
    "practice": "sky_blue2",
    "recovery": "medium_aquamarine",
    "done": "grey70",
    "trend": "aquamarine3",
    "prompt": "wheat1",
}

_PACER_LABEL = {"inhale": "label.inhale", "hold_in": "label.hold", "exhale": "label.exhale", "hold_out": "label.hold"}


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything the live screen shows, filled by the session runner. ``None`` = not known (yet).

    phase: ``"baseline"``, ``"practice"``, ``"recovery"`` or ``"done"``.
    phase_elapsed_s, phase_remaining_s: seconds into / left in the phase.
    practice_title: e.g. "Resonance breathing" (already in the screen's language).
    pacer: the pacer's state, or ``None`` (touch practices without a rhythm, rest phases).
    pacer_rate_bpm: the pacer's breathing rate (breaths/min), shown beside it (changes with +/-).
    touch: the touch gesture's title while a touch practice runs (e.g. "Hand on heart"), else ``None``.
    prompt: the most recent prompt's text.
    hr_bpm, rmssd_ms, coherence: the latest indices; relaxation: 0-100, ``None`` until the baseline is known.
    hr_wave: ``(t_s, hr_bpm)`` of the recent beats (instantaneous heart rate, oldest first); drawn for
    the :data:`WAVE_S` seconds ending at ``now_s``.
    trend: the last values (about 60) of RMSSD, oldest first (sparkline on a 0 .. 1.5 x median scale).
    artifacts_pct: share of beats labelled artifacts, percent.
    connection: the connection state in the screen's language; connection_kind: ``"ok"``,
    ``"waiting"`` (no beats yet: the session clock has not started) or ``"trouble"`` (colour).
    signal_poor: a message that replaces the numbers while the signal is too poor for them (``None``:
    show the numbers).
    battery_pct, device_name, marker_count: as the strap / runner report them.
    lang: ``"en"`` or ``"nl"`` for the labels.
    """

    phase: str
    phase_elapsed_s: float = 0.0
    phase_remaining_s: float = 0.0
    practice_title: str | None = None
    pacer: PacerState | None = None
    pacer_rate_bpm: float | None = None
    touch: str | None = None
    prompt: str | None = None
    hr_bpm: float | None = None
    rmssd_ms: float | None = None
    coherence: float | None = None
    relaxation: float | None = None
    hr_wave: tuple[tuple[float, float], ...] = ()
    now_s: float = 0.0
    trend: tuple[float | None, ...] = ()
    artifacts_pct: float | None = None
    connection: str = "connected"
    connection_kind: str = "ok"
    signal_poor: str | None = None
    battery_pct: float | None = None
    device_name: str | None = None
    marker_count: int = 0
    lang: str = "en"


#: Seconds of heart rate the wave shows (about six slow breaths).
WAVE_S = 60.0
#: Rows of the heart-rate wave and of the pacer bar, and lines kept for the prompt: fixed, so the
#: panel keeps its height whatever is shown.
WAVE_ROWS = 4
BAR_ROWS = 2
PROMPT_LINES = 2
#: Cells of the coherence and relaxation scales.
SCALE_WIDTH = 24
ZONE_COLOURS = {"low": "light_salmon3", "medium": "khaki3", "high": "medium_spring_green"}


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fmt_number(value: float | None, spec: str = ".0f", unit: str = "", lang: str = "en") -> str:
    """``value`` formatted with the format ``spec`` and ``unit`` as ``lang`` writes numbers (a decimal
    comma in Dutch: :func:`biofeedback.practices.texts.format_number`), or "—" when it is ``None`` or
    not finite."""
    if not _known(value):
        return MISSING
    return format_number(value, spec, lang) + (f" {unit}" if unit else "")


def fmt_clock(seconds: float) -> str:
    """``125.4`` -> ``"02:05"`` (whole seconds, floor; hours shown when needed)."""
    s = max(0, int(math.floor(seconds + 1e-9)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def fmt_clock_left(seconds: float) -> str:
    """Time left, rounded up: a 45 s phase shows ``00:45`` at its start and ``00:01`` in its last
    second, so elapsed + left always adds up to the phase length."""
    return fmt_clock(math.ceil(max(0.0, seconds) - 1e-9))


def sparkline(values: Sequence[float | None], lo: float | None = None, hi: float | None = None) -> str:
    """One block character per value, ``▁`` (lowest) to ``█`` (highest); a space for ``None``/NaN.

    The scale is ``lo..hi`` when given, else the range of the known values (a flat series draws ``▄``).
    """
    known = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not known:
        return " " * len(values)
    low = min(known) if lo is None else lo
    high = max(known) if hi is None else hi
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
        elif high <= low:
            out.append(SPARK_CHARS[3])
        else:
            x = (min(max(v, low), high) - low) / (high - low)
            out.append(SPARK_CHARS[min(len(SPARK_CHARS) - 1, int(x * len(SPARK_CHARS)))])
    return "".join(out)


def rmssd_sparkline(values: Sequence[float | None]) -> str:
    """The RMSSD trend on a robust scale: the 10th to 90th percentile of the shown values, at least
    10 ms wide. A first value computed from a handful of beats (often far off) is clipped at the edge
    instead of squashing the rest into one level."""
    known = sorted(float(v) for v in values if v is not None and math.isfinite(v))
    if not known:
        return ""
    lo = known[int(0.1 * (len(known) - 1))]
    hi = known[int(round(0.9 * (len(known) - 1)))]
    if hi - lo < 10.0:
        mid = (hi + lo) / 2
        lo, hi = mid - 5.0, mid + 5.0
    return sparkline(values, lo, hi)


def pacer_bar(lung_volume: float, width: int) -> str:
    """A bar of ``width`` cells filled to ``lung_volume`` (0..1) with 1/8-cell resolution, padded with
    spaces to exactly ``width`` characters, so it grows and shrinks smoothly when animated."""
    v = min(1.0, max(0.0, lung_volume if math.isfinite(lung_volume) else 0.0))
    eighths = round(v * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part and full < width else "")
    return bar.ljust(width)


class PacerBar:
    """A rich renderable: :func:`pacer_bar` ``height`` rows tall, as wide as ``width`` or the space the
    console offers (at most :data:`MAX_BAR_WIDTH` cells)."""

    def __init__(self, lung_volume: float, *, style: str = "", width: int | None = None, height: int = 3):
        self.lung_volume = lung_volume
        self.style = style
        self.width = width
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width if self.width is not None else min(MAX_BAR_WIDTH, options.max_width)
        bar = pacer_bar(self.lung_volume, max(1, min(width, options.max_width)))
        for _ in range(self.height):
            yield Text(bar, style=self.style, no_wrap=True)


#: The widest the pacer bar grows, in cells.
MAX_BAR_WIDTH = 80


def wave_levels(points: Sequence[tuple[float, float]], now_s: float, width: int,
                window_s: float = WAVE_S) -> tuple[list[float | None], float, float]:
    """The heart-rate wave as ``width`` column heights 0..1 over ``[now_s - window_s, now_s]``, and the
    bpm range it spans. A column's heart rate is that of the beat interval covering its time (the
    instantaneous heart rate is a step per beat); ``None`` before the first beat. The range is the
    visible minimum and maximum, widened to at least 6 bpm so a steady heart is not drawn as noise."""
    if not points or width <= 0:
        return [None] * max(0, width), math.nan, math.nan
    start = now_s - window_s
    visible = [(t, h) for t, h in points if t >= start]
    ts = [t for t, _ in points]
    hs = [h for _, h in points]
    values: list[float | None] = []
    j = 0
    for c in range(width):
        tc = start + (c + 0.5) * window_s / width
        while j < len(ts) and ts[j] < tc:
            j += 1
        if j == 0 and (not ts or tc < ts[0] - 60.0 / max(hs[0], 1.0)):
            values.append(None)  # before the first beat
        elif j >= len(ts):
            values.append(hs[-1])  # the interval after the last beat is still running
        else:
            values.append(hs[j])
    shown = [h for _, h in visible] or hs[-1:]
    lo, hi = min(shown), max(shown)
    if hi - lo < 6.0:
        mid = (hi + lo) / 2
        lo, hi = mid - 3.0, mid + 3.0
    return [None if v is None else (min(max(v, lo), hi) - lo) / (hi - lo) for v in values], lo, hi


class Wave:
    """A rich renderable: the heart-rate wave, :data:`WAVE_ROWS` rows of 1/8-cell columns, as wide as
    the console offers."""

    def __init__(self, points: Sequence[tuple[float, float]], now_s: float, style: str):
        self.points, self.now_s, self.style = points, now_s, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        levels, _, _ = wave_levels(self.points, self.now_s, width)
        eighths = [None if v is None else max(1, round(v * (WAVE_ROWS * 8 - 1)) + 1) for v in levels]
        for row in range(WAVE_ROWS - 1, -1, -1):
            line = []
            for e in eighths:
                if e is None:
                    line.append(" ")
                else:
                    k = e - row * 8
                    line.append("█" if k >= 8 else (SPARK_CHARS[k - 1] if k > 0 else " "))
            yield Text("".join(line), style=self.style, no_wrap=True)


def zone_scale(value: float | None, bounds: tuple[float, float], top: float, width: int = SCALE_WIDTH) -> Text:
    """A scale 0..``top`` of ``width`` cells: filled up to ``value``, each cell coloured by its zone
    (low / medium / high at ``bounds``), the empty part dotted so the zone borders stay visible."""
    text = Text(no_wrap=True)
    filled = 0 if value is None or not math.isfinite(value) else round(min(max(value / top, 0.0), 1.0) * width)
    for c in range(width):
        x = (c + 0.5) * top / width
        zone = "low" if x < bounds[0] else ("medium" if x < bounds[1] else "high")
        text.append("█" if c < filled else "·", style=ZONE_COLOURS[zone] if c < filled else f"dim {ZONE_COLOURS[zone]}")
    return text


def _fit_lines(text: str, width: int, lines: int) -> list[str]:
    """``text`` word-wrapped into exactly ``lines`` lines of at most ``width`` (the last one cut with …)."""
    import textwrap

    wrapped = textwrap.wrap(text, width=max(10, width)) if text else []
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        last = wrapped[-1]
        wrapped[-1] = (last[: max(0, width - 1)] + "…") if len(last) >= width else last + " …"
    return wrapped + [""] * (lines - len(wrapped))


class _Prompt:
    def __init__(self, text: str | None, style: str):
        self.text, self.style = text or "", style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in _fit_lines(self.text, options.max_width, PROMPT_LINES):
            yield Text(line, style=self.style, no_wrap=True, overflow="ellipsis")


def render_live(state: LiveState, *, bar_width: int | None = None) -> RenderableType:
    """The screen for ``state`` (pure: the same state always gives the same renderable).

    ``bar_width``: cells of the pacer bar at full lungs; ``None`` fills the width available (<= 80).
    The panel has the same height in every phase and state (fixed rows for the pacer, the prompt and
    the wave), so nothing jumps while practising.
    """
    from biofeedback.hrv.zones import COHERENCE_SCALE_MAX, COHERENCE_ZONES, RELAXATION_ZONES, zone_of

    lang = check_lang(state.lang)
    L = shipped_texts(lang)

    # Header: phase and times; the device line.
    phase_label = L.get(f"label.{state.phase}", state.phase)
    header_left = Text(no_wrap=True, overflow="ellipsis")
    header_left.append(phase_label, style=f"bold {COLOURS.get(state.phase, 'grey70')}")
    # The times before the practice's title: a narrow screen cuts the (long) title, never the clock.
    if state.connection_kind == "waiting":
        header_left.append(f"   {state.connection}", style="yellow")
    else:
        times = L["label.time"].format(elapsed=fmt_clock(state.phase_elapsed_s),
                                       left=fmt_clock_left(state.phase_remaining_s))
        header_left.append(f"   {times}", style="grey70")
    if state.practice_title and state.phase == "practice":
        header_left.append(f"   {state.practice_title}", style="bold")
    device = Text(no_wrap=True, overflow="ellipsis")
    device.append(f"{L['label.device']}: {state.device_name or MISSING}", style="grey70")
    device.append(f"  ·  {L['label.battery']} {fmt_number(state.battery_pct, unit='%', lang=lang)}", style="grey70")
    device.append(f"  ·  {L['label.connection']}: ", style="grey70")
    device.append(state.connection, style=_connection_style(state.connection_kind))

    # Pacer or touch: one label row and BAR_ROWS bar rows, always (blank when there is no pacer).
    guide: list[RenderableType] = []
    label = Text(no_wrap=True)
    if state.pacer is not None:
        p = state.pacer
        colour = COLOURS[p.phase]
        label.append(L[_PACER_LABEL[p.phase]], style=f"bold {colour}")
        label.append(f"  {math.ceil(p.seconds_left_in_phase - 1e-9):d}", style="grey70")  # whole seconds
        if state.pacer_rate_bpm is not None:
            rate = fmt_number(state.pacer_rate_bpm, ".1f", lang=lang)
            label.append("   " + L["screen.pace"].format(rate=rate), style="grey70")
        guide.append(label)
        guide.append(PacerBar(p.lung_volume, style=colour, width=bar_width, height=BAR_ROWS))
    else:
        if state.touch:
            label.append(f"{L['label.touch']}: {state.touch}", style=f"bold {COLOURS['recovery']}")
        guide.append(label)
        guide.extend(Text("") for _ in range(BAR_ROWS))

    # The heart-rate wave under the pacer.
    wave_title = Text(no_wrap=True, overflow="ellipsis")
    wave_title.append(f"{L['label.heart_rate']} ", style="grey70")
    wave_title.append(fmt_number(state.hr_bpm, unit="bpm", lang=lang), style="bold")
    _, lo, hi = wave_levels(state.hr_wave, state.now_s, 10)
    scale = f"{fmt_number(lo, lang=lang)}–{fmt_number(hi, unit='bpm', lang=lang)}" if math.isfinite(lo) else MISSING
    wave_title.append("   " + L["screen.wave"].format(seconds=fmt_number(WAVE_S, lang=lang), scale=scale),
                      style="grey70")
    wave = Wave(state.hr_wave, state.now_s, COLOURS["practice"])

    # The numbers: coherence and relaxation on their zone scales, RMSSD with its sparkline. While the
    # signal is poor, one message takes their place (same number of rows).
    rows: list[RenderableType]
    if state.signal_poor:
        rows = [Text(state.signal_poor, style="bold red", no_wrap=True, overflow="ellipsis"), Text(""), Text("")]
    else:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, min_width=12)
        grid.add_column(no_wrap=True, min_width=SCALE_WIDTH, max_width=SCALE_WIDTH)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        coh_zone = zone_of(state.coherence, COHERENCE_ZONES)
        grid.add_row(Text(L["label.coherence"], style="grey70"),
                     zone_scale(state.coherence, COHERENCE_ZONES, COHERENCE_SCALE_MAX),
                     _value_zone(fmt_number(state.coherence, ".2f", lang=lang), coh_zone, L))
        relax_zone = zone_of(state.relaxation, RELAXATION_ZONES)
        relax_text = fmt_number(state.relaxation, ".0f", "/ 100", lang) if _known(state.relaxation) else \
            L["screen.after_baseline"]
        grid.add_row(Text(L["label.relaxation"], style="grey70"),
                     zone_scale(state.relaxation, RELAXATION_ZONES, 100.0), _value_zone(relax_text, relax_zone, L))
        recent = state.trend[-TREND_LEN:]
        spark = rmssd_sparkline(recent)
        rmssd = Text(no_wrap=True)
        rmssd.append(fmt_number(state.rmssd_ms, ".1f", "ms", lang), style="bold")
        rmssd.append(f"  {L['label.artifacts']} {fmt_number(state.artifacts_pct, '.1f', '%', lang)}", style="grey70")
        grid.add_row(Text(L["label.rmssd"], style="grey70"),
                     Text(spark.rjust(SCALE_WIDTH) if spark.strip() else MISSING.ljust(SCALE_WIDTH),
                          style=COLOURS["trend"]), rmssd)
        rows = [grid]

    keys = Text(L["screen.keys"].format(markers=state.marker_count), style="grey50", no_wrap=True,
                overflow="ellipsis")
    body = Group(header_left, device, *guide, wave_title, wave, _Prompt(state.prompt, f"italic {COLOURS['prompt']}"),
                 *rows, keys)
    return Panel(body, border_style="grey39", title="biofeedback", title_align="left")


def _value_zone(value: str, zone: str | None, L: Mapping[str, str]) -> Text:
    text = Text(no_wrap=True)
    text.append(value, style="bold")
    if zone is not None:
        text.append(f"  {L['zone.' + zone]}", style=ZONE_COLOURS[zone])
    return text


def _connection_style(kind: str) -> str:
    return {"ok": "green", "waiting": "yellow", "connecting": "yellow"}.get(kind, "bold red")

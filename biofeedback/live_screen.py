"""The live screen of a session: a pure function from a :class:`LiveState` to a rich renderable.

The runner fills a :class:`LiveState` on every frame (at >= 10 frames/s for a smooth pacer) and hands
``render_live(state)`` to ``rich.live.Live.update``. Nothing here reads a clock, the device or the store,
so the same state always draws the same screen (tests render into a recording console).

Layout, top to bottom: the phase with elapsed / remaining time and the device line (name, battery,
connection); the breathing pacer (a bar whose length follows the lung volume) or the touch label; the
current prompt; the numbers (heart rate, RMSSD, coherence, relaxation, artifacts, markers); a sparkline of
the recent trend. Unknown numbers (``None`` or NaN) show as "—". Labels are in English or Dutch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from biofeedback.practices.pacer import PacerState
from biofeedback.practices.texts import check_lang, shipped_texts

#: Shown instead of a number that is not known yet.
MISSING = "—"

SPARK_CHARS = "▁▂▃▄▅▆▇█"

#: The sparkline shows at most this many of the latest trend values.
TREND_LEN = 60
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
    touch: the touch gesture's title while a touch practice runs (e.g. "Hand on heart"), else ``None``.
    prompt: the most recent prompt's text.
    hr_bpm, rmssd_ms, coherence: the latest indices; relaxation: 0-100, ``None`` until the baseline is known.
    trend: the last values (about 60) of relaxation or RMSSD, oldest first; ``trend_label`` says which
    (``"relaxation"``: drawn on a fixed 0-100 scale; ``"rmssd"``: scaled to its own range).
    artifacts_pct: share of beats labelled artifacts, percent.
    signal_poor: the latest window is below the quality thresholds (:mod:`biofeedback.hrv.quality`): the
    screen says "signal poor: check the strap" in place of the numbers.
    connection: free text such as "connected", "reconnecting (attempt 3)", "contact lost".
    battery_pct, device_name, marker_count: as the strap / runner report them.
    lang: ``"en"`` or ``"nl"`` for the labels.
    """

    phase: str
    phase_elapsed_s: float = 0.0
    phase_remaining_s: float = 0.0
    practice_title: str | None = None
    pacer: PacerState | None = None
    touch: str | None = None
    prompt: str | None = None
    hr_bpm: float | None = None
    rmssd_ms: float | None = None
    coherence: float | None = None
    relaxation: float | None = None
    trend: tuple[float | None, ...] = ()
    trend_label: str = "relaxation"
    artifacts_pct: float | None = None
    signal_poor: bool = False
    connection: str = "connected"
    battery_pct: float | None = None
    device_name: str | None = None
    marker_count: int = 0
    lang: str = "en"


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def fmt_number(value: float | None, fmt: str = "{:.0f}", unit: str = "") -> str:
    """``value`` formatted with ``fmt`` and ``unit``, or "—" when it is ``None`` or not finite."""
    if not _known(value):
        return MISSING
    return fmt.format(value) + (f" {unit}" if unit else "")


def fmt_clock(seconds: float) -> str:
    """``125.4`` -> ``"02:05"`` (whole seconds, floor; hours shown when needed)."""
    s = max(0, int(math.floor(seconds + 1e-9)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


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


def render_live(state: LiveState, *, bar_width: int | None = None) -> RenderableType:
    """The screen for ``state`` (pure: the same state always gives the same renderable).

    ``bar_width``: cells of the pacer bar at full lungs; ``None`` fills the width available (<= 80).
    """
    lang = check_lang(state.lang)
    L = shipped_texts(lang)

    # Header: phase and times on the left, device on the right.
    phase_label = L.get(f"label.{state.phase}", state.phase)
    header_left = Text(no_wrap=True, overflow="ellipsis")
    header_left.append(phase_label, style=f"bold {COLOURS.get(state.phase, 'grey70')}")
    if state.practice_title and state.phase == "practice":
        header_left.append(f" · {state.practice_title}", style="bold")
    times = L["label.time"].format(elapsed=fmt_clock(state.phase_elapsed_s), left=fmt_clock(state.phase_remaining_s))
    header_left.append(f"   {times}", style="grey70")
    device = Text()
    device.append(f"{L['label.device']}: {state.device_name or MISSING}", style="grey70")
    device.append(f"  ·  {L['label.battery']} {fmt_number(state.battery_pct, unit='%')}", style="grey70")
    device.append(f"  ·  {L['label.connection']}: ", style="grey70")
    device.append(state.connection, style=_connection_style(state.connection))

    # Pacer or touch.
    guide: list[RenderableType] = []
    if state.pacer is not None:
        p = state.pacer
        colour = COLOURS[p.phase]
        label = Text()
        label.append(L[_PACER_LABEL[p.phase]], style=f"bold {colour}")
        label.append(f"  {math.ceil(p.seconds_left_in_phase - 1e-9):d}", style="grey70")
        guide.append(label)
        guide.append(PacerBar(p.lung_volume, style=colour, width=bar_width))
    if state.touch:
        guide.append(Text(f"{L['label.touch']}: {state.touch}", style=f"bold {COLOURS['recovery']}"))
    if state.prompt:
        guide.append(Text(state.prompt, style=f"italic {COLOURS['prompt']}"))
    if not guide:
        guide.append(Text(""))

    # Numbers.
    numbers = Table.grid(padding=(0, 3))
    for _ in range(6):
        numbers.add_column(justify="left")
    numbers.add_row(
        *(Text(L[k], style="grey70") for k in (
            "label.heart_rate", "label.rmssd", "label.coherence", "label.relaxation", "label.artifacts",
            "label.markers",
        ))
    )
    numbers.add_row(
        Text(fmt_number(state.hr_bpm, unit="bpm"), style="bold"),
        Text(fmt_number(state.rmssd_ms, "{:.1f}", "ms"), style="bold"),
        Text(fmt_number(state.coherence, "{:.2f}"), style="bold"),
        Text(fmt_number(state.relaxation, "{:.0f}", "/ 100"), style="bold"),
        Text(fmt_number(state.artifacts_pct, "{:.1f}", "%"), style="bold"),
        Text(str(state.marker_count), style="bold"),
    )
    shown: RenderableType = numbers
    if state.signal_poor:  # numbers from a poor window would mislead: say why instead
        shown = Text(L["label.signal_poor"], style="bold yellow")

    # Trend.
    is_relax = state.trend_label == "relaxation"
    trend_name = L["label.relaxation"] if is_relax else L["label.rmssd"]
    recent = state.trend[-TREND_LEN:]
    spark = sparkline(recent, 0.0, 100.0) if is_relax else sparkline(recent)
    trend = Text()
    trend.append(f"{L['label.trend']} ({trend_name}) ", style="grey70")
    trend.append(spark if spark.strip() else MISSING, style=COLOURS["trend"])

    body = Group(header_left, device, Text(""), *guide, Text(""), shown, Text(""), trend)
    return Panel(body, border_style="grey39", title="biofeedback", title_align="left")


def _connection_style(connection: str) -> str:
    c = connection.lower()
    if c.startswith(("connected", "verbonden")):
        return "green"
    if "reconnect" in c or "opnieuw" in c or "connecting" in c:
        return "yellow"
    return "bold red"

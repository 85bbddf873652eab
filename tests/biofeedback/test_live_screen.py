"""The live screen: a pure rendering of a LiveState."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from rich.console import Console

from biofeedback.live_screen import (
    MISSING,
    LiveState,
    fmt_clock,
    pacer_bar,
    render_live,
    sparkline,
)
from biofeedback.practices import breathing_state, parse_pattern

FULL = LiveState(
    phase="practice",
    phase_elapsed_s=130.0,
    phase_remaining_s=470.0,
    practice_title="Resonance breathing",
    pacer=breathing_state(parse_pattern("4-0-6-0"), 2.0),
    prompt="Let your shoulders drop and soften.",
    hr_bpm=71.6,
    rmssd_ms=48.25,
    coherence=2.345,
    relaxation=63.0,
    trend=tuple(float(v) for v in range(0, 100, 2)),
    artifacts_pct=1.25,
    connection="connected",
    battery_pct=80,
    device_name="Polar H10 1234ABCD",
    marker_count=2,
    lang="en",
)


def text_of(state: LiveState, width: int = 100) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render_live(state))
    return console.export_text()


def test_english_screen_shows_phase_numbers_and_pacer() -> None:
    out = text_of(FULL)
    for expected in (
        "Practice · Resonance breathing", "02:10 elapsed · 07:50 left", "Polar H10 1234ABCD", "Battery 80 %",
        "connected", "Breathe in", "Let your shoulders drop and soften.", "72 bpm", "48.2 ms", "2.35",
        "63 / 100", "1.2 %", "Heart rate", "Coherence", "Relaxation", "Markers", "Trend (Relaxation)",
    ):
        assert expected in out, expected
    assert "▁▁" in out and "██" in out  # the sparkline, low to high
    assert MISSING not in out


def test_dutch_labels() -> None:
    out = text_of(dataclasses.replace(FULL, lang="nl"))
    for expected in ("Oefening", "02:10 verstreken · nog 07:50", "Adem in", "Hartslag", "Coherentie", "Ontspanning",
                     "Batterij", "Markeringen", "Verloop"):
        assert expected in out, expected
    hold = text_of(dataclasses.replace(FULL, lang="nl", pacer=breathing_state(parse_pattern("4-7-8"), 5.0)))
    assert "Vasthouden" in hold
    out_nl = text_of(dataclasses.replace(FULL, lang="nl", pacer=breathing_state(parse_pattern("4-0-6-0"), 5.0)))
    assert "Adem uit" in out_nl
    assert "Hold" in text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-4-4-4"), 13.0)))
    assert "Breathe out" in text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-0-6-0"), 5.0)))


def test_connection_state_is_shown() -> None:
    assert "reconnecting (attempt 3)" in text_of(dataclasses.replace(FULL, connection="reconnecting (attempt 3)"))
    assert "contact lost" in text_of(dataclasses.replace(FULL, connection="contact lost"))


def test_unknown_values_render_as_dashes() -> None:
    empty = LiveState(phase="baseline", hr_bpm=None, rmssd_ms=math.nan, coherence=None, relaxation=None,
                      artifacts_pct=None, battery_pct=None, device_name=None, trend=(None, math.nan))
    out = text_of(empty)
    assert "Baseline" in out and "00:00 elapsed" in out
    assert out.count(MISSING) >= 8  # device, battery, 5 numbers, trend
    assert "bpm" not in out and " ms" not in out and "/ 100" not in out
    assert "Breathe" not in out  # no pacer


def test_touch_practice_without_pacer() -> None:
    out = text_of(dataclasses.replace(FULL, pacer=None, touch="Hand on heart", prompt="Place your hand on your heart."))
    assert "Touch: Hand on heart" in out and "Place your hand on your heart." in out and "Breathe in" not in out


def test_pacer_bar_follows_lung_volume_smoothly() -> None:
    widths = [len(pacer_bar(v / 100, 40).rstrip()) for v in range(101)]
    assert widths == sorted(widths) and widths[0] == 0 and widths[-1] == 40
    assert all(len(pacer_bar(v / 100, 40)) == 40 for v in range(101))
    # 1/8-cell resolution: 0.5 / 40 of the volume shows as a partial block.
    assert pacer_bar(0.5 / 40, 40).rstrip() == "▌"
    assert pacer_bar(math.nan, 5) == "     "
    full = text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-0-6-0"), 4.0)), width=100)
    empty = text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-0-6-0"), 0.0)), width=100)
    assert full.count("█") - empty.count("█") == 3 * 80  # three rows of the widest bar


def test_sparkline_scales() -> None:
    assert sparkline([0, 50, 100], 0, 100) == "▁▅█"
    assert sparkline([10, 20]) == "▁█"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None, 1.0, math.nan, 2.0]) == " ▁ █"
    assert sparkline([]) == ""


def test_rmssd_trend_uses_its_own_range() -> None:
    out = text_of(dataclasses.replace(FULL, trend=(20.0, 30.0, 40.0), trend_label="rmssd"))
    assert "Trend (RMSSD) ▁▅█" in out


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (125.9, "02:05"), (3725, "1:02:05"), (-3, "00:00")])
def test_fmt_clock(seconds: float, text: str) -> None:
    assert fmt_clock(seconds) == text


def test_render_is_pure() -> None:
    assert text_of(FULL) == text_of(FULL)


def test_trend_shows_the_latest_values_only() -> None:
    from biofeedback.live_screen import TREND_LEN

    out = text_of(dataclasses.replace(FULL, trend=(0.0,) * 100 + (100.0,) * TREND_LEN))
    assert "█" * TREND_LEN in out and "▁" not in out


def test_renders_in_colour_without_errors() -> None:
    console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor", force_terminal=True)
    for state in (FULL, dataclasses.replace(FULL, connection="contact lost", lang="nl"), LiveState(phase="done")):
        console.print(render_live(state))
    assert "\x1b[" in console.file.getvalue()  # type: ignore[attr-defined]


def test_poor_signal_replaces_the_numbers() -> None:
    out = text_of(dataclasses.replace(FULL, signal_poor=True))
    assert "signal poor: check the strap" in out
    assert "48.2 ms" not in out and "63 / 100" not in out
    nl = text_of(dataclasses.replace(FULL, signal_poor=True, lang="nl"))
    assert "signaal zwak: controleer de borstband" in nl

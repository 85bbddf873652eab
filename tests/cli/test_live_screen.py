"""The live screen: a pure rendering of a LiveState."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from rich.console import Console

from biofeedback.cli.live_screen import (
    MISSING,
    LiveState,
    fmt_clock,
    fmt_clock_left,
    pacer_bar,
    render_live,
    rmssd_sparkline,
    sparkline,
    wave_levels,
)
from biofeedback.practices import breathing_state, parse_pattern

# A heart that speeds up with each in-breath and slows with each out-breath (6 breaths/min).
WAVE = tuple((t / 1.0, 65.0 + 6.0 * math.sin(2 * math.pi * 0.1 * t)) for t in range(70, 131))

FULL = LiveState(
    phase="practice",
    phase_elapsed_s=130.0,
    phase_remaining_s=470.0,
    practice_title="Resonance breathing",
    pacer=breathing_state(parse_pattern("4-0-6-0"), 2.0),
    pacer_rate_bpm=6.0,
    prompt="Let your shoulders drop and soften.",
    hr_bpm=71.6,
    rmssd_ms=48.25,
    coherence=2.345,
    relaxation=63.0,
    hr_wave=WAVE,
    now_s=130.0,
    trend=tuple(float(v) for v in range(20, 68, 2)),
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


def test_english_screen_shows_phase_wave_zones_and_key_hints() -> None:
    out = text_of(FULL)
    for expected in (
        "Practice   02:10 elapsed · 07:50 left   Resonance breathing", "Polar H10 1234ABCD", "Battery 80 %",
        "connected", "Breathe in", "pacer 6.0 breaths/min", "Let your shoulders drop and soften.",
        "Heart rate 72 bpm", "last 60 s · 59–71 bpm", "48.2 ms", "2.35  high", "63 / 100  high", "1.2 %",
        "Coherence", "Relaxation", "space = marker (2) · + = pacer slower · - = pacer faster · q = end",
    ):
        assert expected in out, expected
    assert MISSING not in out


def test_the_heart_rate_wave_rises_and_falls_with_the_breath() -> None:
    levels, lo, hi = wave_levels(WAVE, 130.0, 60)
    assert (round(lo), round(hi)) == (59, 71)
    assert all(v is not None for v in levels)
    # Two whole breaths of 10 s in 60 s columns of 1 s: the wave peaks every 10 columns.
    peaks = [i for i in range(1, 59) if levels[i] >= levels[i - 1] and levels[i] > levels[i + 1]]
    assert [b - a for a, b in zip(peaks, peaks[1:])] == [10] * (len(peaks) - 1) and len(peaks) >= 5
    assert wave_levels((), 10.0, 5)[0] == [None] * 5
    flat, lo, hi = wave_levels(((1.0, 60.0), (2.0, 60.0)), 2.0, 4)
    assert hi - lo == 6.0  # a steady heart is not blown up into noise


def test_zones_are_named_in_the_users_language() -> None:
    out = text_of(dataclasses.replace(FULL, coherence=0.5, relaxation=50.0))
    assert "0.50  low" in out and "50 / 100  medium" in out
    nl = text_of(dataclasses.replace(FULL, lang="nl"))
    assert "2,35  hoog" in nl and "spatie = markering (2)" in nl and "ritme 6,0 ademhalingen/min" in nl


def test_dutch_labels() -> None:
    out = text_of(dataclasses.replace(FULL, lang="nl"))
    for expected in ("Oefening", "02:10 verstreken · nog 07:50", "Adem in", "Hartslag", "Coherentie", "Ontspanning",
                     "Batterij", "laatste 60 s"):
        assert expected in out, expected
    hold = text_of(dataclasses.replace(FULL, lang="nl", pacer=breathing_state(parse_pattern("4-7-8"), 5.0)))
    assert "Vasthouden" in hold
    assert "Hold" in text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-4-4-4"), 13.0)))
    assert "Breathe out" in text_of(dataclasses.replace(FULL, pacer=breathing_state(parse_pattern("4-0-6-0"), 5.0)))


def test_dutch_numbers_have_a_decimal_comma() -> None:
    """Every number on the Dutch screen is written with a decimal comma (5,5 not 5.5); English keeps
    the point. The device name's digits and the clock are not decimals."""
    import re

    state = dataclasses.replace(FULL, pacer_rate_bpm=5.5, prompt="Adem rustig in")
    nl = text_of(dataclasses.replace(state, lang="nl"))
    assert re.findall(r"\d\.\d", nl) == [], nl
    for shown in ("ritme 5,5", "2,35", "48,2 ms", "1,2 %"):
        assert shown in nl, shown
    en = text_of(state)
    for shown in ("pacer 5.5", "2.35", "48.2 ms", "1.2 %"):
        assert shown in en, shown


def test_connection_state_and_waiting_for_the_strap() -> None:
    assert "reconnecting (attempt 3)" in text_of(dataclasses.replace(FULL, connection="reconnecting (attempt 3)",
                                                                     connection_kind="connecting"))
    waiting = text_of(dataclasses.replace(FULL, phase="baseline", connection="waiting for the strap",
                                          connection_kind="waiting"))
    assert "Baseline   waiting for the strap" in waiting and "elapsed" not in waiting


def test_a_poor_signal_message_replaces_the_numbers() -> None:
    out = text_of(dataclasses.replace(FULL, signal_poor="signal poor: check the strap"))
    assert "signal poor: check the strap" in out and "2.35" not in out and "63 / 100" not in out


def test_unknown_values_render_as_dashes() -> None:
    empty = LiveState(phase="baseline", hr_bpm=None, rmssd_ms=math.nan, coherence=None, relaxation=None,
                      artifacts_pct=None, battery_pct=None, device_name=None, trend=(None, math.nan))
    out = text_of(empty)
    assert "Baseline" in out and "00:00 elapsed" in out
    assert out.count(MISSING) >= 6  # device, battery, heart rate, wave scale, coherence, RMSSD...
    assert "after the baseline" in out  # relaxation is relative to the baseline
    assert "Breathe" not in out  # no pacer


def test_the_panel_has_the_same_height_in_every_state() -> None:
    states = [FULL, LiveState(phase="baseline"), dataclasses.replace(FULL, pacer=None, touch="Hand on heart"),
              dataclasses.replace(FULL, prompt="word " * 60), dataclasses.replace(FULL, signal_poor="signal poor"),
              dataclasses.replace(FULL, phase="done", pacer=None, prompt=None)]
    for width in (80, 120):
        heights = {len(text_of(s, width).rstrip("\n").splitlines()) for s in states}
        assert len(heights) == 1, (width, heights)
        assert heights.pop() <= 22  # fits 80x24 with the shell prompt


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


def test_sparkline_scales() -> None:
    assert sparkline([0, 50, 100], 0, 100) == "▁▅█"
    assert sparkline([10, 20]) == "▁█"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None, 1.0, math.nan, 2.0]) == " ▁ █"
    assert sparkline([]) == ""


def test_a_wild_first_rmssd_does_not_flatten_the_sparkline() -> None:
    # The first RMSSD (from three beats) is 180 ms; the rest move between 30 and 50 ms.
    spark = rmssd_sparkline([180.0] + [30.0, 35.0, 40.0, 45.0, 50.0] * 4)
    assert spark[0] == "█" and len(set(spark[1:])) >= 4  # the rest still shows its shape


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00"), (125.9, "02:05"), (3725, "1:02:05"), (-3, "00:00")])
def test_fmt_clock(seconds: float, text: str) -> None:
    assert fmt_clock(seconds) == text


def test_phase_timers_add_up_to_the_phase() -> None:
    # A 45 s phase: 00:00 elapsed, 00:45 left at its start; never 00:44 + 00:00.
    for t in (0.0, 0.1, 0.9, 10.5, 44.2, 44.99):
        assert int(fmt_clock(t)[-2:]) + int(fmt_clock_left(45.0 - t)[-2:]) in (44, 45)
    assert fmt_clock_left(45.0 - 0.1) == "00:45" and fmt_clock_left(0.3) == "00:01"


def test_render_is_pure() -> None:
    assert text_of(FULL) == text_of(FULL)


def test_renders_in_colour_without_errors() -> None:
    console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor", force_terminal=True)
    for state in (FULL, dataclasses.replace(FULL, connection="contact lost", connection_kind="trouble", lang="nl"),
                  LiveState(phase="done")):
        console.print(render_live(state))
    assert "\x1b[" in console.file.getvalue()  # type: ignore[attr-defined]


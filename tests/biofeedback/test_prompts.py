"""Prompt schedules: computed in advance, delivered exactly once, in order, at any frame rate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import InputError
from biofeedback.practices import (
    Prompt,
    Protocol,
    customize,
    get_practice,
    load_practices,
    prompt_schedule,
    prompts_between,
)
from biofeedback.practices.prompts import QUIET_BEFORE_END_S

PRACTICES = load_practices()


def test_resonance_schedule_in_english() -> None:
    s = prompt_schedule(PRACTICES["resonance"], Protocol(120, 300, 60), "en")
    assert s[0] == Prompt(0.0, "phase.baseline", s[0].text) and s[0].text.startswith("Rest quietly for a moment")
    assert (s[1].t_s, s[1].key) == (120.0, "intro.resonance")
    assert "in for 4 seconds, out for 6" in s[1].text
    cues = [(p.t_s, p.text) for p in s if p.key.startswith("cue.")]
    # Lead-in 5 s, so cues start with the breath at 10 s into the practice: 3 breaths, in and out.
    assert cues == [
        (130.0, "Breathe in gently"), (134.0, "Breathe out"),
        (140.0, "Breathe in gently"), (144.0, "Breathe out"),
        (150.0, "Breathe in gently"), (154.0, "Breathe out"),
    ]
    reminders = [p.t_s for p in s if p.key.startswith("remind.")]
    assert reminders == [185.0, 245.0, 305.0, 365.0]
    assert (s[-2].t_s, s[-2].key) == (420.0, "phase.recovery")
    assert (s[-1].t_s, s[-1].key, s[-1].text) == (480.0, "phase.done", "Well done. The session is complete.")


def test_dutch_schedule_with_holds() -> None:
    s = prompt_schedule(PRACTICES["4-7-8"], Protocol(0, 120, 0), "nl")
    assert s[0].key == "intro.478" and s[0].t_s == 0.0
    assert "4 tellen in" in s[0].text and "7 tellen vast" in s[0].text
    texts = [p.text for p in s if p.key.startswith("cue.")]
    assert texts[:3] == ["Adem rustig in", "Houd vast", "Adem uit"]
    assert s[-1].text == "Goed gedaan. De sessie is klaar."


def test_touch_spells_of_20_seconds() -> None:
    s = prompt_schedule(PRACTICES["hand-on-heart"], Protocol(0, 100, 0), "nl")
    touch = [(p.t_s, p.key) for p in s if p.key.startswith("touch.")]
    assert touch == [
        (5.0, "touch.heart.place"), (15.0, "touch.settle"), (25.0, "touch.release"),
        (35.0, "touch.heart.place"), (45.0, "touch.breathe"), (55.0, "touch.release"),
        (65.0, "touch.heart.place"), (75.0, "touch.warmth"), (85.0, "touch.release"),
    ]  # a fourth spell would end at 115 s, after the practice: not started
    assert next(p.text for p in s if p.key == "touch.heart.place") == "Leg je hand op je hart."
    longer = prompt_schedule(customize(PRACTICES["hand-on-heart"], spell_s=40), Protocol(0, 100, 0), "en")
    assert [p.t_s for p in longer if p.key == "touch.release"] == [45.0, 95.0]


def test_self_compassion_has_kind_phrases() -> None:
    s = prompt_schedule(PRACTICES["self-compassion"], Protocol(60, 300, 60), "en")
    phrases = [p.text for p in s if p.key.startswith("kind.")]
    assert phrases[0] == "May I be kind to myself." and len(set(phrases)) == 6


def test_no_baseline_or_recovery_prompt_when_those_phases_are_empty() -> None:
    keys = [p.key for p in prompt_schedule(PRACTICES["box"], Protocol(0, 60, 0), "en")]
    assert "phase.baseline" not in keys and "phase.recovery" not in keys and keys[-1] == "phase.done"


def test_unknown_language() -> None:
    with pytest.raises(InputError, match="unknown language 'fr'"):
        prompt_schedule(PRACTICES["box"], Protocol(), "fr")


protocols = st.builds(
    Protocol,
    baseline_s=st.sampled_from([0.0, 30.0, 120.0]),
    practice_s=st.floats(min_value=0, max_value=900, allow_nan=False),
    recovery_s=st.sampled_from([0.0, 45.5, 120.0]),
)
practices = st.sampled_from(sorted(PRACTICES))
langs = st.sampled_from(["en", "nl"])


@settings(max_examples=150, deadline=None)
@given(practices, protocols, langs)
def test_schedule_is_sorted_and_stays_in_its_phases(name: str, protocol: Protocol, lang: str) -> None:
    s = prompt_schedule(PRACTICES[name], protocol, lang)
    times = [p.t_s for p in s]
    assert times == sorted(times) and times[0] >= 0 and times[-1] == protocol.total_s
    for p in s:
        assert p.text and "{" not in p.text and p.text != p.key
        if p.key.startswith(("cue.", "remind.", "kind.", "touch.")):
            assert protocol.practice_start_s < p.t_s <= protocol.recovery_start_s
            if not p.key.endswith("release"):
                assert p.t_s < protocol.recovery_start_s - (0 if p.key.startswith(("touch.", "kind.")) else QUIET_BEFORE_END_S) + 1e-9


@settings(max_examples=200, deadline=None)
@given(
    practices,
    protocols,
    langs,
    st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), max_size=60),
)
def test_any_partition_delivers_each_prompt_exactly_once_in_order(
    name: str, protocol: Protocol, lang: str, cuts: list[float]
) -> None:
    schedule = prompt_schedule(PRACTICES[name], protocol, lang)
    total = protocol.total_s
    points = sorted(c * total for c in cuts) + [total]  # repeated points = frames at the same time
    delivered: list[Prompt] = []
    previous: float | None = None
    for t in points:
        delivered.extend(prompts_between(schedule, previous, t))
        previous = t
    assert delivered == schedule


def test_prompts_between_is_half_open() -> None:
    s = prompt_schedule(get_practice("resonance"), Protocol(10, 20, 10), "en")
    assert [p.key for p in prompts_between(s, None, 0.0)] == ["phase.baseline"]
    assert prompts_between(s, 0.0, 0.0) == [] and prompts_between(s, 0.0, 9.99) == []
    assert [p.key for p in prompts_between(s, 9.99, 10.0)] == ["intro.resonance"]
    assert prompts_between(s, 10.0, 5.0) == []
    assert [p.key for p in prompts_between(s, 30.0, 1e9)] == ["phase.done"]


def test_current_prompt_and_pacer_in_session_time() -> None:
    from biofeedback.practices import current_prompt, pacer_at, practice_breath_onsets_s

    practice, protocol = PRACTICES["resonance"], Protocol(30, 60, 30)
    s = prompt_schedule(practice, protocol, "en")
    assert current_prompt(s, -1.0) is None
    assert current_prompt(s, 29.9).key == "phase.baseline"
    assert current_prompt(s, 30.0).key == "intro.resonance"
    assert current_prompt(s, 1e6).key == "phase.done"
    assert pacer_at(practice, protocol, 29.9) is None and pacer_at(practice, protocol, 90.0) is None
    st = pacer_at(practice, protocol, 32.0)
    assert st.phase == "inhale" and st.lung_volume == pytest.approx(0.5)
    assert pacer_at(PRACTICES["hand-on-heart"], protocol, 40.0) is None
    assert practice_breath_onsets_s(practice, protocol) == [30, 40, 50, 60, 70, 80, 90]


def test_english_notes_in_the_texts_equal_the_core_s_own() -> None:
    """The core (biofeedback.hrv) writes its notes in English itself; en.toml carries the same texts so
    that nl.toml can translate them: the two English copies stay equal."""
    from biofeedback.hrv.notes import SLOW_BREATHING_NOTE
    from biofeedback.hrv.quality import WARNING
    from biofeedback.practices.texts import shipped_texts

    en = shipped_texts("en")
    assert en["note.slow_breathing"] == SLOW_BREATHING_NOTE
    assert en["note.quality"] == WARNING


def test_format_number_writes_a_decimal_comma_in_dutch() -> None:
    from biofeedback.practices.texts import format_number

    assert format_number(5.5, ".1f", "nl") == "5,5" and format_number(5.5, ".1f", "en") == "5.5"
    assert format_number(None, ".1f", "nl") == "—" and format_number(float("nan"), ".1f", "en") == "—"
    assert format_number(12, "d", "nl") == "12"

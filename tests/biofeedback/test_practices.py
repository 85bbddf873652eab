"""Practices as data files: shipped presets, user overrides, clear errors, texts in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from biofeedback.errors import InputError
from biofeedback.practices import (
    LANGS,
    BreathPattern,
    customize,
    get_practice,
    load_practices,
    parse_pattern,
    practice_dirs,
)
from biofeedback.practices.texts import shipped_texts

SHIPPED = {"resonance", "4-7-8", "box", "paced", "hand-on-heart", "hand-on-cheek", "self-hug", "self-compassion"}


def test_shipped_practices_and_their_patterns() -> None:
    practices = load_practices()
    assert SHIPPED <= set(practices)
    assert practices["resonance"].pattern == BreathPattern(inhale_s=4, exhale_s=6)
    assert practices["resonance"].pattern.rate_bpm == 6.0
    assert practices["4-7-8"].pattern == BreathPattern(inhale_s=4, hold_in_s=7, exhale_s=8)
    assert practices["box"].pattern == BreathPattern(4, 4, 4, 4)
    for name in ("hand-on-heart", "hand-on-cheek", "self-hug"):
        p = practices[name]
        assert p.kind == "touch" and p.touch is not None and p.touch.gesture == name
        assert p.touch.spell_s == 20 and p.pattern is None
    sc = practices["self-compassion"]
    assert sc.kind == "touch" and sc.touch.gesture == "hand-on-heart" and sc.pattern == parse_pattern("4-0-6-0")


def test_every_text_key_exists_in_every_language() -> None:
    keys = {lang: set(shipped_texts(lang)) for lang in LANGS}
    assert keys["en"], "no English texts"
    for lang in LANGS:
        assert keys[lang] == keys["en"], f"{lang}: missing {keys['en'] - keys[lang]}, extra {keys[lang] - keys['en']}"
        assert all(t.strip() for t in shipped_texts(lang).values())
        # Same placeholders in every language.
        for key, text in shipped_texts(lang).items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", shipped_texts("en")[key])), key


def test_every_shipped_practice_is_complete_in_both_languages_without_fallback() -> None:
    for practice in load_practices().values():
        keys = [*practice.keys(), f"practice.{practice.name}.title", f"practice.{practice.name}.description"]
        for lang in LANGS:
            for key in keys:
                assert key in shipped_texts(lang), (practice.name, lang, key)
            assert "{" not in practice.description(lang)


def test_dutch_wording_uses_je_form() -> None:
    nl = shipped_texts("nl")
    assert nl["touch.heart.place"] == "Leg je hand op je hart."
    assert nl["cue.inhale"] == "Adem rustig in" and nl["cue.exhale"] == "Adem uit" and nl["cue.hold"] == "Houd vast"
    assert nl["phase.baseline"].startswith("Neem even rust")
    assert not any(re.search(r"\b(u|uw)\b", t) for t in nl.values()), "use 'je', not 'u'"


def test_user_practice_overrides_shipped_and_adds_new(home: Path) -> None:
    d = home / "practices"
    d.mkdir()
    (d / "resonance.toml").write_text('[breathing]\npattern = "5-0-5-0"\n', encoding="utf-8")
    (d / "my-calm.toml").write_text(
        'title = { en = "My calm", nl = "Mijn rust" }\n'
        "[breathing]\nrate_bpm = 5.5\n"
        '[prompts]\nintro = "my.hello"\nreminders = ["my.hello"]\n'
        '[text.en]\n"my.hello" = "Hello, in for {inhale_s}"\n',
        encoding="utf-8",
    )
    practices = load_practices(practice_dirs(home))
    assert practices["resonance"].pattern == parse_pattern("5-0-5-0")
    assert practices["resonance"].source == str(d / "resonance.toml")
    mine = practices["my-calm"]
    assert mine.title("nl") == "Mijn rust" and mine.title("en") == "My calm"
    assert mine.pattern.rate_bpm == pytest.approx(5.5)
    assert mine.text("my.hello", "nl") == "Hello, in for 4.36"  # falls back to English
    assert "box" in practices  # shipped ones still there


def test_missing_user_directory_is_fine(home: Path) -> None:
    assert set(load_practices(practice_dirs(home))) == set(load_practices())


def _bad(home: Path, name: str, text: str) -> InputError:
    d = home / "practices"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_practices(practice_dirs(home))
    return info.value


def test_toml_syntax_error_names_file_and_line(home: Path) -> None:
    err = _bad(home, "broken.toml", '[breathing]\npattern = "4-0-6-0"\ncue_breaths = = 3\n')
    assert err.path == str(home / "practices" / "broken.toml") and err.line == 3
    assert str(err).startswith(f"{err.path}:3: invalid TOML")
    assert err.exit_status == 2


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('# mine\n[breathing]\npatern = "4-0-6-0"\n', 3, "unknown key 'patern'"),
        ('[breathing]\npattern = "4-x-6"\n', 2, "not a breathing pattern"),
        ('[touch]\ngesture = "hand-on-heart"\nspell_s = "long"\n', 3, "spell_s must be a number"),
        ('[breathing]\npattern = "4-0-6-0"\n[prompts]\n\nintro = "nope.missing"\n', 5, "no text for prompt 'nope.missing'"),
        ('title = "x"\n', None, "neither [breathing] nor [touch]"),
    ],
)
def test_invalid_practices_are_one_line_input_errors(home: Path, text: str, line: int | None, words: str) -> None:
    err = _bad(home, "mine.toml", text)
    assert words in err.problem
    assert err.path == str(home / "practices" / "mine.toml") and err.line == line
    assert "\n" not in str(err)


def test_bad_file_name_is_refused(home: Path) -> None:
    err = _bad(home, "My Practice.toml", '[breathing]\npattern = "4-0-6-0"\n')
    assert "file names" in err.problem


def test_unknown_practice_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"unknown practice 'yoga' \(choose from: 4-7-8, box"):
        get_practice("yoga")


def test_customize_pattern_rate_and_spell() -> None:
    res = get_practice("resonance")
    assert customize(res, pattern=parse_pattern("4-0-6-0")) == res
    fast = customize(res, rate_bpm=5.5)
    assert fast.pattern.rate_bpm == pytest.approx(5.5) and fast.pattern.inhale_s / fast.pattern.period_s == pytest.approx(0.4)
    assert customize(res, rate_bpm=6, inhale_fraction=0.5).pattern == BreathPattern(5, 5)
    heart = customize(get_practice("hand-on-heart"), spell_s=30, rate_bpm=6)
    assert heart.touch.spell_s == 30 and heart.pattern == BreathPattern(4, 6)
    with pytest.raises(InputError, match="not both"):
        customize(res, pattern=parse_pattern("4-0-6-0"), rate_bpm=6)
    with pytest.raises(InputError, match="no touch spells"):
        customize(res, spell_s=30)
    with pytest.raises(InputError, match="spell must be > 0"):
        customize(get_practice("self-hug"), spell_s=0)


def test_examples_in_the_docs_load(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "practices.md"
    examples = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(examples) == 2
    for i, text in enumerate(examples):
        (tmp_path / f"example-{i}.toml").write_text(text, encoding="utf-8")
    practices = load_practices([tmp_path])
    assert practices["example-0"].title("nl") == "Avondrust" and practices["example-0"].pattern.label == "4-2-8-0"
    assert practices["example-1"].kind == "touch" and practices["example-1"].text("belly.place", "nl") == "Leg een hand op je buik."


def test_reminders_with_touch_are_refused(home: Path) -> None:
    err = _bad(home, "mix.toml", '[touch]\ngesture = "self-hug"\n[prompts]\nreminders = ["remind.follow"]\n')
    assert "use 'during'" in err.problem


def test_the_self_hug_never_speaks_of_a_hand_on_the_chest() -> None:
    from biofeedback.practices import Protocol, prompt_schedule

    hug = load_practices()["self-hug"]
    for lang, word in (("en", "hand"), ("nl", "hand")):
        texts = [p.text for p in prompt_schedule(hug, Protocol(0, 120, 0), lang) if p.key.startswith("touch.")
                 and p.key != "touch.release"]
        assert texts and not any(word in t.lower() for t in texts), (lang, texts)

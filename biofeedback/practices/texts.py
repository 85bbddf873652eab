"""Prompt and label texts in English and Dutch, from ``biofeedback/practices/prompts/{en,nl}.toml``.

Keys are dotted names (``cue.inhale``, ``touch.heart.place``); nested TOML tables are flattened
(``[practice.resonance] title = ...`` is the key ``practice.resonance.title``). Every shipped key exists
in every language (tested). A text may contain ``{inhale_s}``, ``{hold_in_s}``, ``{exhale_s}``,
``{hold_out_s}``, ``{rate_bpm}``, ``{spell_s}`` which are filled from the practice.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from biofeedback.errors import InputError

#: Languages with a complete set of texts; the first is the fallback.
LANGS: tuple[str, ...] = ("en", "nl")
DEFAULT_LANG = "en"

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise :class:`InputError` listing the supported ones."""
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r} (choose from: {', '.join(LANGS)})")
    return lang


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": "x"}}`` -> ``{"a.b": "x"}``."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, full + "."))
        else:
            out[full] = value
    return out


@functools.cache
def shipped_texts(lang: str) -> Mapping[str, str]:
    """All shipped texts of ``lang`` (read once), key -> text."""
    check_lang(lang)
    path = PROMPTS_DIR / f"{lang}.toml"
    with open(path, "rb") as f:
        data = flatten(tomllib.load(f))
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:  # pragma: no cover - shipped files are tested
        raise InputError(f"prompt {bad[0]!r} is not a string", path=path)
    return MappingProxyType(data)


def lookup(key: str, lang: str, extra: Mapping[str, Mapping[str, str]] | None = None) -> str | None:
    """The text of ``key`` in ``lang``: a practice's own texts (``extra[lang]``) first, then the shipped
    texts, then the same in English; ``None`` when no text exists."""
    found = lookup_lang(key, lang, extra)
    return None if found is None else found[0]


def lookup_lang(key: str, lang: str,
                extra: Mapping[str, Mapping[str, str]] | None = None) -> tuple[str, str] | None:
    """As :func:`lookup`, with the language the text was found in (``lang``, or English when it fell
    back): ``(text, language)``, or ``None``. Numbers put into the text are written in that language."""
    for lng in (lang, DEFAULT_LANG) if lang != DEFAULT_LANG else (lang,):
        if extra is not None and key in extra.get(lng, {}):
            return extra[lng][key], lng
        text = shipped_texts(lng).get(key)
        if text is not None:
            return text, lng
    return None


#: The placeholders a practice's texts may use (docs/practices.md), filled from the practice.
PLACEHOLDERS = ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s", "rate_bpm", "pattern", "spell_s")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders(text: str) -> list[str]:
    """The ``{...}`` placeholders in ``text``, as written (``"{x:>9}"`` -> ``["x:>9"]``)."""
    return _PLACEHOLDER.findall(text)


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace ``{name}`` placeholders present in ``values``; anything else in braces (unknown names,
    format specs, attribute access) is left as written: a text is never interpreted as a format string."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def say(key: str, lang: str, **values: object) -> str:
    """The shipped text ``key`` in ``lang`` with its ``{placeholders}`` filled from ``values``
    (``say("end.complete", "nl")`` -> ``"voltooid"``). Raises ``KeyError`` for an unknown key."""
    text = lookup(key, lang)
    if text is None:
        raise KeyError(key)
    return fill(text, values)


#: Shown instead of a number that is not known (``None`` or not finite).
MISSING_NUMBER = "—"


def format_number(value: float | None, spec: str, lang: str) -> str:
    """``value`` formatted with the format ``spec`` as a reader of ``lang`` writes numbers: a decimal
    comma in Dutch (``format_number(5.5, ".1f", "nl")`` -> ``"5,5"``), a point in English; "—" when
    ``value`` is ``None`` or not finite. The one number formatter of the screens and tables
    (``compare``, the live screen, ``show``, ``trends``, ``analyze``)."""
    if value is None or not isinstance(value, int) and not math.isfinite(value):
        return MISSING_NUMBER
    return decimal_mark(format(value, spec), lang)


def decimal_mark(number: str, lang: str) -> str:
    """A number already written with a decimal point (``"5.5"``), with ``lang``'s decimal mark: the
    comma in Dutch (``"5,5"``). (Thousands are never grouped, so the point is always the decimal one.)"""
    return number.replace(".", ",") if lang == "nl" else number


_NUMBER = re.compile(r"-?\d+\.\d+")


@functools.cache
def _templates(section: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The English texts of ``section`` as patterns (each ``{name}`` captures), longest first."""
    out = []
    for key, text in shipped_texts(DEFAULT_LANG).items():
        if key.startswith(section + "."):
            parts = _PLACEHOLDER.split(text)  # literal, name, literal, name, ...
            pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
            out.append((re.compile(pattern, re.DOTALL), key))
    return tuple(sorted(out, key=lambda pk: -len(pk[0].pattern)))


def translate(text: str, lang: str, section: str) -> str:
    """An English sentence written by code below the app layer (a file reader's note, say), in ``lang``.

    The sentence is matched against the English texts of ``section`` (``reader.*`` in en.toml, the
    same sentences the readers write, placeholders standing for what varies); the text of the matching
    key in ``lang`` is filled with what was captured, each capture translated the same way (a reason
    inside a note) and its decimal numbers written as ``lang`` writes them. A sentence no text matches
    is returned as it is.
    """
    if lang == DEFAULT_LANG:
        return text
    for pattern, key in _templates(section):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        values = {}
        for name, value in m.groupdict().items():
            inner = translate(value, lang, section)
            values[name] = inner if inner != value else _NUMBER.sub(lambda n: decimal_mark(n.group(0), lang), value)
        return say(key, lang, **values)
    return text

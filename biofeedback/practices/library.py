"""Finding and reading practice files.

Shipped practices live in ``biofeedback/practices/data/*.toml``; users add their own in
``<home>/practices/*.toml``. :func:`load_practices` reads a list of directories in order; a practice in a
later directory replaces one of the same name from an earlier one (so user files override shipped ones).
A file's name without ``.toml`` is the practice's name. The format is described in ``docs/practices.md``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from biofeedback.errors import InputError
from biofeedback.files import read_regular
from biofeedback.practices.pattern import DEFAULT_INHALE_FRACTION, BreathPattern, parse_pattern, pattern_from_rate
from biofeedback.practices.practice import DEFAULT_REST_S, DEFAULT_SPELL_S, Practice, TouchSpec
from biofeedback.practices.texts import LANGS, PLACEHOLDERS, flatten, lookup, placeholders

SHIPPED_DIR = Path(__file__).resolve().parent / "data"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TOML_LINE = re.compile(r"at line (\d+)")

_TOP_KEYS = {"breathing", "touch", "prompts", "title", "description", "text"}
_BREATHING_KEYS = {"pattern", "rate_bpm", "inhale_fraction", "cue_breaths"}
_TOUCH_KEYS = {"gesture", "spell_s", "rest_s", "place", "during", "during_every_s", "release"}
_PROMPTS_KEYS = {"intro", "lead_in_s", "reminders", "reminder_every_s"}

#: Limits on a user's practice file (untrusted input): its size, the nesting of its tables and
#: arrays, and every duration in it (seconds, finite).
MAX_PRACTICE_BYTES = 64 * 1024
MAX_NESTING = 8
MIN_DURATION_S = 0.5
MAX_DURATION_S = 3600.0


def practice_dirs(home: Path | None) -> list[Path]:
    """The directories to read, in order: the shipped practices, then ``<home>/practices`` if given."""
    dirs = [SHIPPED_DIR]
    if home is not None:
        dirs.append(Path(home) / "practices")
    return dirs


def load_practices(
    dirs: Sequence[Path] | None = None, problems: dict[str, InputError] | None = None
) -> dict[str, Practice]:
    """All practices from ``dirs`` (default: the shipped ones), by name, sorted by name.

    Directories that do not exist are skipped. A file that cannot be read or is not a valid practice
    (including a FIFO or device named ``*.toml``) raises :class:`InputError` naming the file and,
    when known, the line; when ``problems`` is given, it is recorded there under the file's stem
    instead and the file is skipped (the other practices still load).
    """
    found: dict[str, Practice] = {}
    for directory in (SHIPPED_DIR,) if dirs is None else dirs:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                practice = load_practice_file(path)
            except InputError as exc:
                if problems is None:
                    raise
                problems[path.stem] = exc
                found.pop(path.stem, None)  # a broken override does not fall back silently
                continue
            found[practice.name] = practice
    return dict(sorted(found.items()))


def get_practice(
    name: str, dirs: Sequence[Path] | None = None, problems: dict[str, InputError] | None = None
) -> Practice:
    """The practice called ``name``; :class:`InputError` listing the known names if there is none, or
    the file's own error if the practice's file is broken. Broken files of other practices are
    skipped (recorded in ``problems`` when given)."""
    found_problems: dict[str, InputError] = {}
    practices = load_practices(dirs, found_problems)
    if problems is not None:
        problems.update(found_problems)
    if name in found_problems:
        raise found_problems[name]
    try:
        return practices[name]
    except KeyError:
        raise InputError(f"unknown practice {name!r} (choose from: {', '.join(practices)})") from None


def load_practice_file(path: Path) -> Practice:
    """Read one practice file. Raises :class:`InputError` (path, line) on any problem."""
    path = Path(path)
    name = path.stem
    if not _NAME.match(name):
        raise InputError(
            "practice file names must be lowercase letters, digits, '-' or '_' (e.g. my-breathing.toml)", path=path
        )
    raw = read_regular(path, max_bytes=MAX_PRACTICE_BYTES, what="practice file")  # no FIFO, no device
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise InputError("practice file is not UTF-8 text", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise InputError(f"invalid TOML: {problem}", path=path, line=int(m.group(1)) if m else None) from exc
    except RecursionError:
        raise InputError(f"nested more than {MAX_NESTING} levels deep", path=path) from None
    if _depth(data) > MAX_NESTING:
        raise InputError(f"nested more than {MAX_NESTING} levels deep", path=path)
    return practice_from_dict(name, data, source=path, source_text=text)


def _depth(value: object, level: int = 0) -> int:
    if level > MAX_NESTING:
        return level
    if isinstance(value, Mapping):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def practice_from_dict(
    name: str, data: Mapping[str, Any], *, source: str | Path = "<data>", source_text: str = ""
) -> Practice:
    """Build and validate a :class:`Practice` from parsed TOML ``data``."""

    def fail(problem: str, key: str | None = None) -> InputError:
        return InputError(f"practice {name!r}: {problem}", path=source, line=_line_of(source_text, key))

    def table(key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise fail(f"{key!r} must be a table ([{key}])", key)
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise fail(f"unknown key {unknown[0]!r} in [{key}] (allowed: {', '.join(sorted(allowed))})", unknown[0])
        return dict(value)

    def guard(key: str, make: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return make(*args, **kwargs)
        except InputError as exc:
            if exc.path is not None:
                raise
            raise InputError(exc.problem, path=source, line=_line_of(source_text, key)) from exc

    def number(tbl: Mapping[str, Any], key: str, default: float, section: str,
               low: float = -math.inf, high: float = math.inf) -> float:
        value = tbl.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise fail(f"[{section}] {key} must be a number, got {value!r}", key)
        if not low <= value <= high:
            raise fail(f"[{section}] {key} must be between {low:g} and {high:g}, got {value!r}", key)
        return float(value)

    def duration(tbl: Mapping[str, Any], key: str, default: float, section: str, low: float = MIN_DURATION_S) -> float:
        return number(tbl, key, default, section, low, MAX_DURATION_S)

    def string(tbl: Mapping[str, Any], key: str, default: str | None, section: str) -> str | None:
        value = tbl.get(key, default)
        if value is not None and not isinstance(value, str):
            raise fail(f"[{section}] {key} must be a string, got {value!r}", key)
        return value

    def strings(tbl: Mapping[str, Any], key: str, default: tuple[str, ...], section: str) -> tuple[str, ...]:
        value = tbl.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"[{section}] {key} must be a list of strings", key)
        return tuple(value)

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TOP_KEYS))})", unknown[0])
    breathing = table("breathing", _BREATHING_KEYS)
    touch_t = table("touch", _TOUCH_KEYS)
    prompts = table("prompts", _PROMPTS_KEYS)

    try:
        pattern: BreathPattern | None = None
        if "breathing" in data:
            if "pattern" in breathing and "rate_bpm" in breathing:
                raise fail("[breathing] has both pattern and rate_bpm; give one", "rate_bpm")
            if "pattern" in breathing:
                ptext = string(breathing, "pattern", None, "breathing")
                pattern = guard("pattern", parse_pattern, ptext or "")
            elif "rate_bpm" in breathing:
                pattern = guard(
                    "rate_bpm",
                    pattern_from_rate,
                    number(breathing, "rate_bpm", 6.0, "breathing"),
                    number(breathing, "inhale_fraction", DEFAULT_INHALE_FRACTION, "breathing"),
                )
            else:
                raise fail("[breathing] needs pattern (e.g. \"4-0-6-0\") or rate_bpm", "breathing")
        cue_breaths = number(breathing, "cue_breaths", 3 if pattern is not None and "touch" not in data else 0,
                             "breathing", 0, 100)
        if cue_breaths != int(cue_breaths):
            raise fail("[breathing] cue_breaths must be a whole number", "cue_breaths")

        touch: TouchSpec | None = None
        if "touch" in data:
            gesture = string(touch_t, "gesture", None, "touch")
            if not gesture:
                raise fail("[touch] needs a gesture (e.g. \"hand-on-heart\")", "touch")
            every = touch_t.get("during_every_s")
            touch = guard(
                "touch",
                TouchSpec,
                gesture=gesture,
                spell_s=duration(touch_t, "spell_s", DEFAULT_SPELL_S, "touch"),
                rest_s=duration(touch_t, "rest_s", DEFAULT_REST_S, "touch", low=0.0),
                place=string(touch_t, "place", "touch.heart.place", "touch") or "touch.heart.place",
                during=strings(touch_t, "during", ("touch.settle", "touch.breathe"), "touch"),
                during_every_s=None if every is None else duration(touch_t, "during_every_s", 0.0, "touch"),
                release=string(touch_t, "release", "touch.release", "touch") or "touch.release",
            )

        if pattern is not None:
            for phase_name in ("inhale_s", "hold_in_s", "exhale_s", "hold_out_s"):
                if getattr(pattern, phase_name) > MAX_DURATION_S:
                    raise fail(f"[breathing] {phase_name} must be at most {MAX_DURATION_S:g} s", "pattern")
        texts = _texts(name, data, fail)
        practice: Practice = guard(
            "prompts",
            Practice,
            name=name,
            pattern=pattern,
            touch=touch,
            intro=string(prompts, "intro", None, "prompts"),
            lead_in_s=duration(prompts, "lead_in_s", 5.0, "prompts", low=0.0),
            cue_breaths=int(cue_breaths),
            reminders=strings(prompts, "reminders", (), "prompts"),
            reminder_every_s=duration(prompts, "reminder_every_s", 60.0, "prompts"),
            texts=texts,
            source=str(source),
        )
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(exc.problem, path=source, line=exc.line) from exc

    for key in practice.keys():
        if lookup(key, "en", practice.texts) is None:
            raise fail(f"no text for prompt {key!r} (add it under [text.en])", key)
    return practice


def _texts(name: str, data: Mapping[str, Any], fail: Any) -> Mapping[str, Mapping[str, str]]:
    per_lang: dict[str, dict[str, str]] = {}
    text_t = data.get("text", {})
    if not isinstance(text_t, Mapping):
        raise fail("'text' must be a table of languages ([text.en], [text.nl])", "text")
    for lang, table in text_t.items():
        if lang not in LANGS:
            raise fail(f"[text.{lang}]: unknown language (use {', '.join(LANGS)})", "text")
        if not isinstance(table, Mapping):
            raise fail(f"[text.{lang}] must be a table of key = \"text\"", "text")
        flat = flatten(table)
        for key, value in flat.items():
            if not isinstance(value, str):
                raise fail(f"[text.{lang}] {key} must be a string", key.rsplit(".", 1)[-1])
            _check_placeholders(value, f"[text.{lang}] {key}", key.rsplit(".", 1)[-1], fail)
        per_lang.setdefault(lang, {}).update(flat)
    for field_name in ("title", "description"):
        value = data.get(field_name)
        if value is None:
            continue
        if isinstance(value, str):
            value = {"en": value}
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise fail(f"{field_name} must be a string or a table like {{ en = \"...\", nl = \"...\" }}", field_name)
        for lang, text in value.items():
            if lang not in LANGS:
                raise fail(f"{field_name}: unknown language {lang!r} (use {', '.join(LANGS)})", field_name)
            _check_placeholders(text, field_name, field_name, fail)
            per_lang.setdefault(lang, {})[f"practice.{name}.{field_name}"] = text
    return MappingProxyType({lang: MappingProxyType(t) for lang, t in per_lang.items()})


def _check_placeholders(text: str, where: str, key: str, fail: Any) -> None:
    """Only the documented ``{placeholders}`` (:data:`~biofeedback.practices.texts.PLACEHOLDERS`)."""
    for found in placeholders(text):
        if found not in PLACEHOLDERS:
            shown = found if len(found) <= 30 else found[:27] + "..."
            raise fail(f"{where}: unknown placeholder {{{shown}}} (allowed: "
                       + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ")", key)


def _line_of(text: str, key: str | None) -> int | None:
    """1-based line where ``key`` is first assigned or opened as a table in ``text``, else where it first
    appears as a quoted value (best effort; ``None`` if not found)."""
    if not text or not key:
        return None
    k = re.escape(key.rsplit(".", 1)[-1])
    pattern = re.compile(rf"^\s*(?:\[+\s*{k}\s*\]+|\"?{k}\"?\s*=|\[+[^\]]*\.{k}\s*\]+)")
    quoted = re.compile(r"[\"']" + re.escape(key) + r"[\"']")
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if pattern.match(line):
            return number
    for number, line in enumerate(lines, start=1):  # the key used as a value, e.g. intro = "my.key"
        if quoted.search(line):
            return number
    return None

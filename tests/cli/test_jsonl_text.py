"""The ``--jsonl`` beat lines are written by orjson when that gives ``json.dumps``' exact text
(``flat_json_text``): every case where the two could differ must fall back to ``json.dumps``."""

from __future__ import annotations

import json
import math
import struct
from enum import IntEnum

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.cli.live_output import flat_json_text


def _reference(obj: dict) -> str:
    return json.dumps(obj, allow_nan=False)


class _Level(IntEnum):
    HIGH = 3


@pytest.mark.parametrize("value", [
    0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e-05, 1.5e-07, 5e-324, 1e16, 9999999999999998.0, 1.5e16,
    1.7976931348623157e308, 1000000000000000.0, 812.5, 0.1 + 0.2, -123.456, 2**63, -(2**63), 2**70, 7,
    True, False, None, "normal", "a, b", "k: v", 'say "hi"', "back\\slash", "tab\t", "del\x7f", "\x01",
    "café", "日本", "nullable", "e-1", "", [], {}, [1.5, 2], {"a": 1}, _Level.HIGH,
])
def test_same_text_as_json_dumps(value: object) -> None:
    obj = {"type": "beat", "phase": "practice", "v": value, "rr_ms": 845.703125}
    assert flat_json_text(obj) == _reference(obj)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64(math.nan)])
def test_nan_and_infinity_are_refused_as_by_json_dumps(value: float) -> None:
    with pytest.raises(ValueError):
        flat_json_text({"type": "beat", "v": value})


def test_numpy_scalars_and_other_keys_fall_back() -> None:
    for obj in ({"v": np.float64(0.25)}, {"v": np.int64(3)}, {1: 2.5}, {"a": 1, 2: None}):
        try:
            expected = _reference(obj)
        except TypeError:
            with pytest.raises(TypeError):
                flat_json_text(obj)
        else:
            assert flat_json_text(obj) == expected


_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e17, max_value=1e17, allow_nan=False),
    st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", b.to_bytes(8, "little"))[0])
    .filter(math.isfinite),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_floats, st.integers(-(2**70), 2**70), st.booleans(), st.none(), st.text(max_size=8)),
                min_size=1, max_size=44))
def test_any_flat_row_gives_json_dumps_text(values: list) -> None:
    obj = {f"k{i}": v for i, v in enumerate(values)}
    assert flat_json_text(obj) == _reference(obj)


def test_200_000_floats_of_the_indices_range_take_the_fast_path_with_the_same_text() -> None:
    # The fast path (no fallback) must give the same digits: floats between 1e-4 and 1e16, as
    # the per-beat indices are, in rows of 40 values.
    rng = np.random.default_rng(13)
    values = (rng.uniform(-1, 1, 200_000) * 10.0 ** rng.uniform(-4, 15.9, 200_000)).tolist()
    for start in range(0, len(values), 40):
        obj = {f"k{i}": v for i, v in enumerate(values[start:start + 40])}
        text = flat_json_text(obj)
        assert text == _reference(obj)


# -- a beat's line and a run of beats' lines (what `--jsonl` writes at full speed) -------------------

from types import MappingProxyType  # noqa: E402

from biofeedback.cli import live_output  # noqa: E402
from biofeedback.cli.live_output import beat_json_line, beat_json_lines  # noqa: E402

#: Strings that could pass for structure once spaces are put in (a string ending in "," or starting
#: with ":" next to a quote), escapes, characters json.dumps escapes and orjson does not.
_TRICKY_STRINGS = [",", ":", ',"', '":', '", "', '": "', "a,", ":a", ", ", ": ", "\n  ", ",\n  ", "null",
                   "e-", "0.0000", "1e-05", "[1, 2]", "{}", "\\", '"', "\x7f", "\x00", "\u2028", "é", "日本"]
_keys = st.one_of(st.sampled_from(["rr_ms", "t_s", "type", "phase", "", ":", ",", '"', "k: v"]), st.text(max_size=6))
_values = st.one_of(_floats, st.floats(), st.integers(-(2**70), 2**70), st.booleans(), st.none(),
                    st.text(max_size=8), st.sampled_from(_TRICKY_STRINGS), st.just([]), st.just({}),
                    st.lists(st.integers(0, 3), min_size=1, max_size=2))
_phases = st.sampled_from([None, "baseline", "practice", "recovery", "é", 'a"b', 1, True, 1.0, math.nan])


def _dumps_line(phase, values) -> bytes:
    return (json.dumps({"type": "beat", "phase": phase, **values}, allow_nan=False) + "\n").encode()


def _expected(beats) -> bytes | type[Exception]:
    try:
        return b"".join(_dumps_line(phase, values) for _, phase, values in beats)
    except ValueError:
        return ValueError


@settings(max_examples=400, deadline=None)
@given(_phases, st.dictionaries(_keys, _values, max_size=12), st.booleans())
def test_a_beat_line_is_json_dumps_line(phase, values, read_only) -> None:
    shown = MappingProxyType(values) if read_only else values
    expected = _expected([(None, phase, values)])
    if expected is ValueError:
        with pytest.raises(ValueError):
            beat_json_line(phase, shown)
    else:
        assert beat_json_line(phase, shown) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_phases, st.dictionaries(_keys, _values, max_size=6)), max_size=12))
def test_a_run_of_beat_lines_is_json_dumps_lines(rows) -> None:
    beats = [(None, phase, MappingProxyType(values)) for phase, values in rows]
    expected = _expected(beats)
    if expected is ValueError:
        with pytest.raises(ValueError):
            beat_json_lines(beats)
    else:
        assert beat_json_lines(beats) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_floats, st.sampled_from([-0.0, 1e-4, 1e-5, 1.5e-7, 5e-324, 1e16, 2**63, None])),
                min_size=40, max_size=44), st.integers(2, 6))
def test_runs_of_number_rows_are_json_dumps_lines(numbers, n) -> None:
    # Rows shaped like the engine's (40-odd numbers) with a tiny or huge number somewhere: the
    # run falls back for its stretch only, every line still json.dumps'.
    beats = [(None, "practice", {f"k{i}": v for i, v in enumerate(numbers[k:] + numbers[:k])}) for k in range(n)]
    assert beat_json_lines(beats) == _expected(beats)


def _engine_like_rows() -> list[dict]:
    rng = np.random.default_rng(8)
    rows = []
    for i in range(50):
        row = {"index": i, "t_s": float(i) * 0.8125, "artifact": "normal", "valid": True, "n_beats": 60 + i}
        magnitudes = 10.0 ** rng.uniform(-3.9, 5, 33)  # the indices' range (1e-4 .. 1e5), either sign
        row |= {f"v{k}": float(x) for k, x in enumerate(rng.choice([-1.0, 1.0], 33) * magnitudes)}
        row |= {"signal_ok": bool(i % 2), "quality_reason": None if i % 3 else "spectrum: a 4.9 s stretch bridged",
                "relaxation_reason": "no baseline yet"}
        rows.append(row)
    return rows


def test_engine_like_rows_take_the_orjson_path() -> None:
    # The speed of `--jsonl` rests on orjson's text being proven the same for rows like the
    # engine's: the installed orjson spells floats as expected, and no check refuses such rows.
    assert live_output._FLOATS_FIT
    rows = _engine_like_rows()
    for row in rows:
        assert live_output._flat_items(row) is not None
    head = live_output._beat_head("practice")
    assert live_output._run_lines(head, rows) == b"".join(_dumps_line("practice", row) for row in rows)


def test_nan_in_a_run_raises_as_json_dumps_does() -> None:
    rows = _engine_like_rows()[:5]
    rows[3] = rows[3] | {"v7": math.inf}
    with pytest.raises(ValueError):
        beat_json_lines([(None, "practice", MappingProxyType(r)) for r in rows])

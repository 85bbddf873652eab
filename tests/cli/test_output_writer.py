"""The output thread hands consecutive beats to a consumer as runs (``on_beats``) when it has that
method, one ``on_beat`` each otherwise, always in the order they were queued, events and frames in
between; ``JsonlSink`` writes a run's lines in one call, the same lines as beat by beat."""

from __future__ import annotations

import io
import json
import math
from types import MappingProxyType

import pytest

from biofeedback.cli.live_output import MAX_RUN, JsonlSink, OutputWriter


class _Runs:
    """Records what it is handed: ("beats", [t...]) per run, ("event", e), ("frame", t)."""

    def __init__(self, fail_at_run: int | None = None):
        self.calls: list[tuple[str, object]] = []
        self.fail_at_run = fail_at_run

    def on_beats(self, beats):
        if self.fail_at_run is not None and sum(c[0] == "beats" for c in self.calls) == self.fail_at_run:
            raise BrokenPipeError("reader gone")
        self.calls.append(("beats", [values["t_s"] for _, _, values in beats]))

    def on_beat(self, indices, phase, values):  # pragma: no cover - the writer must use on_beats
        raise AssertionError("on_beat called on a consumer that has on_beats")

    def on_event(self, event, phase):
        self.calls.append(("event", event))

    def on_frame(self, now_s):
        self.calls.append(("frame", now_s))


class _OneByOne:
    def __init__(self):
        self.calls: list[tuple[str, object]] = []

    def on_beat(self, indices, phase, values):
        self.calls.append(("beat", values["t_s"]))

    def on_event(self, event, phase):
        self.calls.append(("event", event))

    def on_frame(self, now_s):
        self.calls.append(("frame", now_s))


def _queue(writer: OutputWriter, plan: list[object]) -> None:
    # Queued before the thread starts, so that the thread finds them all at once: the runs it
    # forms depend on the order only (a run ends at an event, a frame, the end, or MAX_RUN).
    t = 0.0
    for item in plan:
        if item == "beat":
            t += 1.0
            writer.on_beat(None, "practice", MappingProxyType({"t_s": t}))  # type: ignore[arg-type]
        elif item == "frame":
            writer.on_frame(t)
        else:
            writer.on_event(item, "practice")  # type: ignore[arg-type]


def test_consecutive_beats_go_as_runs_in_order_and_one_by_one_to_the_others() -> None:
    runs, one_by_one = _Runs(), _OneByOne()
    writer = OutputWriter([runs, one_by_one])
    _queue(writer, ["beat"] * 3 + ["e1"] + ["beat"] * 2 + ["frame"] + ["beat"] * (MAX_RUN + 5) + ["e2"])
    writer.start()
    writer.close()
    n = 3 + 2 + MAX_RUN + 5
    assert runs.calls == [("beats", [1.0, 2.0, 3.0]), ("event", "e1"), ("beats", [4.0, 5.0]), ("frame", 5.0),
                          ("beats", [float(t) for t in range(6, 6 + MAX_RUN)]),
                          ("beats", [float(t) for t in range(6 + MAX_RUN, n + 1)]), ("event", "e2")]
    assert one_by_one.calls == ([("beat", 1.0), ("beat", 2.0), ("beat", 3.0), ("event", "e1"), ("beat", 4.0),
                                 ("beat", 5.0), ("frame", 5.0)]
                                + [("beat", float(t)) for t in range(6, n + 1)] + [("event", "e2")])
    assert not writer.errors


def test_a_consumer_whose_run_fails_is_detached_and_the_others_get_everything() -> None:
    failing, one_by_one = _Runs(fail_at_run=1), _OneByOne()
    writer = OutputWriter([failing, one_by_one])
    _queue(writer, ["beat"] * 2 + ["e1"] + ["beat"] * 2 + ["e2"] + ["beat"])
    writer.start()
    writer.close()
    assert failing.calls == [("beats", [1.0, 2.0]), ("event", "e1")]  # nothing after the failed run
    assert [c for c in one_by_one.calls if c[0] == "beat"] == [("beat", float(t)) for t in range(1, 6)]
    assert len(writer.errors) == 1 and isinstance(writer.errors[0], BrokenPipeError)
    assert writer.consumers == [one_by_one]


def _beats(n: int) -> list[tuple[None, str, MappingProxyType]]:
    return [(None, "baseline" if i < n // 2 else "practice",
             MappingProxyType({"index": i, "t_s": 0.8 * i, "rr_ms": 812.5 + i, "rmssd_ms": 30.0 + 0.1 * i,
                               "relaxation": None, "relaxation_reason": "no baseline yet", "valid": True}))
            for i in range(n)]


def _json_dumps_lines(beats) -> str:
    return "".join(json.dumps({"type": "beat", "phase": p, **v}, allow_nan=False) + "\n" for _, p, v in beats)


def test_jsonl_sink_writes_a_run_as_the_lines_of_its_beats() -> None:
    beats = _beats(9)
    by_run, by_beat = io.StringIO(), io.StringIO()
    JsonlSink(by_run).on_beats(beats)
    for args in beats:
        JsonlSink(by_beat).on_beat(*args)  # type: ignore[arg-type]
    assert by_run.getvalue() == by_beat.getvalue() == _json_dumps_lines(beats)


def test_a_run_with_a_nan_beat_writes_the_lines_before_it_then_raises_as_json_dumps() -> None:
    beats = _beats(6)
    beats[4] = (None, beats[4][1], MappingProxyType({**beats[4][2], "rmssd_ms": math.nan}))
    out = io.StringIO()
    with pytest.raises(ValueError):
        JsonlSink(out).on_beats(beats)
    assert out.getvalue() == _json_dumps_lines(beats[:4])


def test_through_the_writer_the_sink_writes_every_line_in_order() -> None:
    beats, out = _beats(300), io.StringIO()
    writer = OutputWriter([JsonlSink(out)]).start()
    for args in beats:
        writer.on_beat(*args)  # type: ignore[arg-type]
    writer.close()
    assert out.getvalue() == _json_dumps_lines(beats)
    assert not writer.errors

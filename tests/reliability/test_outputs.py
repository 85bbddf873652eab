"""Recording never depends on its consumers: a reader that stops reading delays only its own lines.

In process, on a virtual clock: the session's only output is a JSON-lines consumer behind the real
:class:`~biofeedback.cli.live_output.OutputWriter` that is stalled (blocked on an event) for the whole
session. The session still runs to its end and stores every beat; released afterwards, the consumer
receives every line, in order."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import threading

from biofeedback.cli.live_output import JsonlSink, OutputWriter
from biofeedback.practices import Protocol, get_practice
from devices.clock import VirtualClock
from sessions.live import SessionPlan, run_session
from sessions.simulated import simulated_source
from sessions.store import Store
from tests.reliability.reliability_cli import CLI, cli_env, stored

PROTOCOL = Protocol(baseline_s=10, practice_s=10, recovery_s=10)


class _Stalled:
    """A JSON-lines reader that reads nothing until ``release`` is set (a pipe nobody drains)."""

    def __init__(self, out: io.StringIO, release: threading.Event):
        self.sink, self.release = JsonlSink(out), release

    def _wait(self) -> None:
        assert self.release.wait(timeout=60), "the test never released the reader"

    def on_beat(self, *a: object) -> None:
        self._wait()
        self.sink.on_beat(*a)  # type: ignore[arg-type]

    def on_event(self, *a: object) -> None:
        self._wait()
        self.sink.on_event(*a)  # type: ignore[arg-type]

    def on_frame(self, now_s: float) -> None:
        self._wait()


def test_a_stalled_jsonl_reader_gets_every_line_and_the_store_every_beat(tmp_path):
    out, release = io.StringIO(), threading.Event()
    plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="simulator")
    clock = VirtualClock()
    writer = OutputWriter([_Stalled(out, release)]).start()
    try:
        with Store.open_home(tmp_path) as store:
            source = simulated_source(plan.practice, PROTOCOL, seed=3, clock=clock)
            outcome = asyncio.run(run_session(source, plan, store, clock=clock, sinks=[writer]))
            stored_t = [b.t_s for b in store.beats(outcome.session_id)]
            gaps = store.gaps(outcome.session_id)
        # The whole session ran and was stored while the reader had not taken a single line.
        assert out.getvalue() == ""
        assert outcome.end_reason == "finished" and outcome.n_beats == len(stored_t) > 0
    finally:
        release.set()
        writer.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    times = [o["t_s"] for o in lines if o["type"] == "beat"]
    # Every beat of the 30 s session, none missing after the stall, every line in order.
    assert times == sorted(times) and times[-1] > 27.0
    assert max(b - a for a, b in zip(times, times[1:])) < 2.0
    assert stored_t == times
    assert not gaps
    assert not writer.errors


def test_a_kill_at_speed_20_loses_at_most_one_second_of_session(tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen([*CLI, "demo", "--speed", "20", "--minutes", "2", "--jsonl", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli_env())
    printed: list[float] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith('{"type": "beat"'):
                printed.append(json.loads(line)["t_s"])
                if len(printed) == 45:  # ~40 s into the session, ~2 s of real time
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    kept = [t for (t,) in stored(home, "SELECT t_s FROM beats ORDER BY seq")]
    assert kept[: len(printed)] == printed[: len(kept)]
    lost_s = printed[-1] - (kept[-1] if kept else 0.0)
    assert lost_s <= 1.5, f"{len(printed) - len(kept)} printed beats ({lost_s:.1f} s of session) lost"

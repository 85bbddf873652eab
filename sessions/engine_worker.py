"""A session's engine fed in blocks, computed by a helper process while the session records.

At ``--speed max`` a session is bound by one core: the simulator, the recorder's commits, the engine
and the outputs take turns on one Python interpreter. :class:`BlockPipeline` moves the engine (about a
third of that work) to a helper process on the machine's other core
(:func:`sessions.helper_process.start_helper`, running :func:`main`): the live runner submits the
recorded beats a block at a time (and the gaps, and the end), goes on recording the next beats, and
takes each block's settled :class:`~biofeedback.engine.BeatIndices` when they are back, in order.

The helper also encodes the live indices of every whole block of CHUNK_BEATS beats it settles as the
recorder stores them (:func:`~sessions.index_chunks.columnar_chunks`; handed to
:meth:`~sessions.recorder.Recorder.offer_block_chunks`, which writes them instead of encoding the
block here: the same bytes).

The helper is launched when the session starts and loads the engine meanwhile; until it says it is
ready, the blocks are computed here (a short session never waits for it). Then the pipeline's state
(:meth:`SessionPipeline.snapshot`, which :meth:`~SessionPipeline.restore` continues bit for bit)
goes to the helper, which runs the same :class:`~sessions.pipeline.SessionPipeline` code on the same
items from there: what is shown and stored is what computing here gives
(``tests/sessions/test_engine_worker.py``).

Nothing depends on the helper: with fewer than two usable cores, or when it cannot be started, the
pipeline runs here, each block at once. When the helper fails mid-session (killed, crashed, an
answer that is not one, no answer for :data:`ANSWER_TIMEOUT_S`), the blocks it was given are
computed again here from the state it was given (they are kept, a few bytes a beat, while a helper
computes), and the session goes on here: every result not yet handed out is handed out, none twice.
The helper is killed at the end (it holds nothing by then).
"""

from __future__ import annotations

import pickle
import queue
import subprocess
import threading
from array import array
from collections import deque
from collections.abc import Sequence
from typing import Any

from biofeedback.beat import Beat, Gap
from biofeedback.engine import BeatIndices, EngineSettings
from sessions.index_chunks import CHUNK_BEATS, Chunk, Row, columnar_chunks
from sessions.pipeline import SessionPipeline

#: A submission: ("beats", rr_ms, t_s) with two array('d'), ("gap", start_s, end_s, reason) or ("flush",).
Submission = tuple[Any, ...]
#: The columnar chunks of a whole block of settled beats: (first seq, last seq, chunks).
BlockChunks = tuple[int, int, list[Chunk]]

_GONE = object()  # put by the reader when the helper's output ends or is not an answer
#: The helper's first word: its kernels are loaded, it waits for the pipeline's state.
READY = "biofeedback-engine-helper-ready-1"
#: Seconds to wait for the helper's next answer before giving it up (it answers a block in milliseconds).
ANSWER_TIMEOUT_S = 30.0


class BlockPipeline:
    """:class:`~sessions.pipeline.SessionPipeline` driven a block at a time, with results taken later.

    Each :meth:`submit_beats`, :meth:`submit_gap` and :meth:`submit_flush` gives exactly one result
    (the beats it settled, possibly none); :meth:`next_result` hands them out in submission order.

    ``helper``: an :class:`EngineHelper`, launched earlier so that it starts while the session does.
    Until it is ready, every submission is computed here at once (a short session never waits for
    it); at the first submission after it is, the pipeline's state goes to the helper
    (:meth:`hand_over`), which computes from then on while this process goes on. Without a helper, or
    after it failed, everything is computed here. The pipeline owns the helper (:meth:`close`).
    """

    def __init__(self, settings: EngineSettings, baseline_end_s: float | None, *, helper: EngineHelper | None = None):
        self._local: SessionPipeline | None = SessionPipeline(settings, baseline_end_s)  # None: the helper computes
        self._helper = helper
        self._base: dict[str, Any] | None = None  # the pipeline's state when the helper took it over
        self._sent: list[Submission] = []  # what the helper was given since (to compute here if it fails)
        self._handed = 0  # the helper's results handed out
        self._ready: deque[list[BeatIndices]] = deque()  # results computed here, not yet handed out
        self.computed_here = 0  # submissions computed in this process (before the helper took over, or after it failed)
        self._block_chunks: list[BlockChunks] = []  # from the helper, not yet taken (take_block_chunks)

    @property
    def uses_helper(self) -> bool:
        """True while the helper process computes (False: here)."""
        return self._local is None

    def hand_over(self, *, wait: bool = False) -> bool:
        """Give the pipeline's state to the helper if it is ready (``wait``: wait for it, at most
        :data:`ANSWER_TIMEOUT_S`), so that it computes the next submissions; True when it does."""
        helper = self._helper
        if self._local is None or helper is None:
            return self._local is None
        if not helper.wait_ready(ANSWER_TIMEOUT_S if wait else 0.0):
            if helper.gone():
                self._drop_helper()
            return False
        state = self._local.snapshot()
        if not helper.send(("start", state)):
            self._drop_helper()
            return False
        self._base, self._local = state, None
        return True

    def submit_beats(self, beats: Sequence[Beat]) -> None:
        """Push recorded beats, in order (:meth:`SessionPipeline.push_beats`)."""
        self._submit(("beats", array("d", [b.rr_ms for b in beats]), array("d", [b.t_s for b in beats])))

    def submit_gap(self, gap: Gap) -> None:
        """Push a gap (:meth:`SessionPipeline.push`)."""
        self._submit(("gap", gap.start_s, gap.end_s, gap.reason))

    def submit_flush(self) -> None:
        """Settle the beats still waiting for look-ahead (the end of the session)."""
        self._submit(("flush",))

    def next_result(self, wait: bool) -> list[BeatIndices] | None:
        """The next submission's settled beats, in submission order; ``None`` when it is not ready yet
        and ``wait`` is False (with ``wait``, or while computed here, it is always given; ``None``
        also when every submission's result was handed out)."""
        if self._ready:
            return self._ready.popleft()
        if self._local is not None or self._handed == len(self._sent):
            return None
        assert self._helper is not None
        result = self._helper.result(wait)
        if result is None:
            return None
        if result is _GONE:
            self._take_over()  # also kills a helper that hangs
            return self._ready.popleft() if self._ready else None
        self._handed += 1
        settled, block_chunks = result
        self._block_chunks.extend(block_chunks)
        return settled  # type: ignore[no-any-return]

    def take_block_chunks(self) -> list[BlockChunks]:
        """The columnar chunks of whole blocks of CHUNK_BEATS settled beats that the helper encoded
        (:func:`~sessions.index_chunks.columnar_chunks` of ``(index, to_json_dict())`` of each, the
        rows a recorder is given), as ``(first seq, last seq, chunks)``, since the last call: for
        :meth:`sessions.recorder.Recorder.offer_block_chunks`, before the results they came with
        are stored. Blocks are aligned on multiples of CHUNK_BEATS from seq 0 (a recorder's blocks
        in a new session)."""
        out, self._block_chunks = self._block_chunks, []
        return out

    def close(self) -> None:
        """End the helper (there is nothing left for it to do, or it is not needed)."""
        if self._helper is not None:
            self._helper.close()

    # -- internals ---------------------------------------------------------------------------------
    def _submit(self, submission: Submission) -> None:
        if self._local is not None and self._helper is not None:
            self.hand_over()
        if self._local is not None:
            self._ready.append(_apply(self._local, submission))
            self.computed_here += 1
            return
        assert self._helper is not None
        self._sent.append(submission)
        if not self._helper.send(submission):
            self._take_over()  # the helper is gone: this one too is computed here

    def _drop_helper(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def _take_over(self) -> None:
        """The helper failed: compute here what it was given, from the state it was given; keep the
        results not yet handed out."""
        self._drop_helper()
        assert self._base is not None
        local = SessionPipeline.restore(self._base)
        for k, submission in enumerate(self._sent):
            result = _apply(local, submission)
            if k >= self._handed:
                self._ready.append(result)
                self.computed_here += 1
        self._sent.clear()
        self._base, self._local = None, local


def _apply(pipeline: SessionPipeline, submission: Submission) -> list[BeatIndices]:
    """What ``submission`` settles, computed by ``pipeline`` (here or in the helper)."""
    kind = submission[0]
    if kind == "beats":
        _, rr_ms, t_s = submission
        return list(pipeline.push_beats(rr_ms, t_s))
    if kind == "gap":
        return pipeline.push(Gap(*submission[1:]))
    if kind == "flush":
        return pipeline.flush()
    raise ValueError(f"unknown submission {kind!r}")


class EngineHelper:
    """The helper process's end here: a pipe to write submissions into, a thread reading answers.
    :meth:`launch` starts it (it loads the engine at once); a :class:`BlockPipeline` then uses it."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self._process = process
        self._answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ready = threading.Event()  # the helper said it is ready (or it is gone: see gone())
        self._gone = False
        self._reader = threading.Thread(target=self._read, name="biofeedback-engine-reader", daemon=True)
        self._reader.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the helper is ready for the pipeline's state (waiting up to ``timeout_s``)."""
        return (self._ready.is_set() or (timeout_s > 0 and self._ready.wait(timeout_s))) and not self._gone

    def gone(self) -> bool:
        """True once the helper's output ended (or was not what it should be)."""
        return self._gone

    @classmethod
    def launch(cls, cores: int | None = None) -> EngineHelper | None:
        """Start the helper process; ``None`` when it cannot be, or with fewer than two usable CPU
        cores (``cores``, default: those this process may use)."""
        from sessions.helper_process import start_helper

        process = start_helper("sessions.engine_worker", cores=cores, stderr=subprocess.DEVNULL)
        return None if process is None else cls(process)

    def send(self, message: tuple[Any, ...]) -> bool:
        """Write one message; False when the helper is gone."""
        stdin = self._process.stdin
        try:
            assert stdin is not None
            pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def result(self, wait: bool) -> Any:
        """The next answer (``(settled BeatIndices, block chunks)``), :data:`_GONE` (also when ``wait`` waited
        :data:`ANSWER_TIMEOUT_S` in vain: a helper that hangs is given up), or ``None`` when none is
        ready and ``wait`` is False."""
        try:
            return self._answers.get(timeout=ANSWER_TIMEOUT_S) if wait else self._answers.get_nowait()
        except queue.Empty:
            return _GONE if wait else None

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        from_row = BeatIndices.from_row
        try:
            if pickle.load(stdout) == READY:
                self._ready.set()
                while True:
                    answer = pickle.load(stdout)
                    if not (isinstance(answer, tuple) and len(answer) == 2):
                        break
                    rows, block_chunks = answer
                    self._answers.put(([from_row(row) for row in rows], block_chunks))
        except Exception:  # noqa: BLE001 - the helper ended or said something else: computed here instead
            pass
        self._gone = True
        self._ready.set()  # no one waits for a helper that is gone
        self._answers.put(_GONE)

    def close(self) -> None:
        """End the helper (it holds nothing: whatever it had to give was given, or is not needed)."""
        process = self._process
        if process.poll() is None:
            process.kill()
        process.wait()
        stdin = process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:  # a write it never read
                pass
        self._reader.join(timeout=5.0)
        for stream in (process.stdout, process.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def main() -> int:
    """The helper: load the engine's kernels at once (while the parent starts its session), say
    :data:`READY`, then read ``("start", state)`` (:meth:`SessionPipeline.snapshot`) and submissions
    from standard input; answer each with the rows (:meth:`BeatIndices.row`) of the beats it
    settled and the chunks of the blocks they complete (:class:`_Block`), until the input ends."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends us
    warm = SessionPipeline(EngineSettings(), None)
    list(warm.push_beats([800.0, 810.0], [0.8, 1.61]))  # the compiled kernels, loaded
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    pickle.dump(READY, stdout, protocol=pickle.HIGHEST_PROTOCOL)
    stdout.flush()
    try:
        start = pickle.load(stdin)
        if start[0] != "start":
            return 2
        pipeline = SessionPipeline.restore(start[1])
        block = _Block()
        while True:
            submission = pickle.load(stdin)
            settled = _apply(pipeline, submission)
            answer = ([b.row() for b in settled], block.add(settled))
            pickle.dump(answer, stdout, protocol=pickle.HIGHEST_PROTOCOL)
            stdout.flush()
    except EOFError:
        return 0


class _Block:
    """The helper's rows of the block of CHUNK_BEATS settled beats being filled (``(index,
    to_json_dict())``, what the live runner gives the recorder), from the first multiple of
    CHUNK_BEATS it settles; encoded once whole."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, settled: list[BeatIndices]) -> list[BlockChunks]:
        """Add the rows of ``settled``; the chunks of each block it completes."""
        done: list[BlockChunks] = []
        rows = self.rows
        for b in settled:
            seq = b.index
            if seq % CHUNK_BEATS == 0:
                rows.clear()
            elif not rows or rows[-1][0] != seq - 1:
                rows.clear()  # not from the block's first beat (the helper took over mid-block)
                continue
            rows.append((seq, b.to_json_dict()))
            if len(rows) == CHUNK_BEATS:
                done.append((rows[0][0], seq, list(columnar_chunks(rows))))
                rows.clear()
        return done

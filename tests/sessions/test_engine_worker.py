"""The engine fed in blocks by a helper process (sessions/engine_worker.py): the same results as
computing here, in order, also when the helper dies mid-session."""

from __future__ import annotations

from biofeedback.beat import Beat, Gap
from biofeedback.engine import BeatIndices, EngineSettings
from devices.simulator import RRSimulator
from sessions.engine_worker import BlockPipeline, EngineHelper


def _items() -> list[Beat | Gap]:
    """~12 min of a simulated person with premature and missed beats, and two gaps."""
    sim = RRSimulator(5, ectopic_rate=0.02, missed_rate=0.01, quantise_ticks=True)
    items: list[Beat | Gap] = []
    for i, b in enumerate(sim.beats_until(720.0)):
        if i in (300, 610):
            items.append(Gap(items[-1].t_s, b.t_s - b.rr_ms / 1000.0, "contact_lost"))  # type: ignore[union-attr]
        items.append(Beat(b.rr_ms, b.t_s))
    return items


def _submit_all(pipeline: BlockPipeline, items: list[Beat | Gap], *, on_result=None) -> list[list[BeatIndices]]:
    results: list[list[BeatIndices]] = []
    block: list[Beat] = []
    n_submitted = 0

    def take(wait: bool) -> None:
        while len(results) < n_submitted:
            got = pipeline.next_result(wait)
            if got is None:
                return
            results.append(got)
            if on_result is not None:
                on_result(len(results))

    for item in items:
        if isinstance(item, Gap):
            if block:
                pipeline.submit_beats(block)
                n_submitted += 1
                block = []
            pipeline.submit_gap(item)
            n_submitted += 1
        else:
            block.append(item)
            if len(block) == 13:
                pipeline.submit_beats(block)
                n_submitted += 1
                block = []
        take(False)
    if block:
        pipeline.submit_beats(block)
        n_submitted += 1
    pipeline.submit_flush()
    n_submitted += 1
    take(True)
    assert pipeline.next_result(True) is None  # every result handed out once
    return results


def _reprs(results: list[list[BeatIndices]]) -> list[list[str]]:
    return [[repr(b) for b in r] for r in results]  # repr: NaN equals NaN


SETTINGS = EngineSettings()


def _helper() -> EngineHelper:
    helper = EngineHelper.launch(cores=2)  # whatever this machine has
    assert helper is not None
    return helper


def test_a_helper_process_gives_what_computing_here_gives():
    items = _items()
    here = BlockPipeline(SETTINGS, 200.0)
    want = _submit_all(here, items)
    assert not here.uses_helper and here.computed_here == len(want)
    away = BlockPipeline(SETTINGS, 200.0, helper=_helper())
    try:
        assert away.hand_over(wait=True)  # from the first block
        got = _submit_all(away, items)
        assert away.uses_helper and away.computed_here == 0  # computed there from start to end
    finally:
        away.close()
    assert sum(len(r) for r in want) == sum(isinstance(i, Beat) for i in items)
    assert any(b.relaxation is not None for r in want for b in r)  # the baseline ended at 200 s
    assert _reprs(got) == _reprs(want)


def test_the_helper_takes_over_mid_session_once_it_is_ready():
    # the first blocks are computed here while the helper starts (a Python process cannot start
    # within one block's computation); the pipeline's state then goes to the helper, which goes on
    items = _items()
    want = _submit_all(BlockPipeline(SETTINGS, 200.0), items)
    away = BlockPipeline(SETTINGS, 200.0, helper=_helper())

    def ready_after_some(n_results: int) -> None:
        if n_results == 10:
            assert away.hand_over(wait=True)

    try:
        got = _submit_all(away, items, on_result=ready_after_some)
        assert away.uses_helper and 1 <= away.computed_here <= 10
    finally:
        away.close()
    assert _reprs(got) == _reprs(want)


def test_a_helper_that_dies_mid_session_is_taken_over_here_nothing_lost_nothing_twice():
    items = _items()
    want = _submit_all(BlockPipeline(SETTINGS, 200.0), items)
    helper = _helper()
    away = BlockPipeline(SETTINGS, 200.0, helper=helper)

    def kill_after_some(n_results: int) -> None:
        if n_results == 5:
            assert away.hand_over(wait=True)
        if n_results == 20:
            helper._process.kill()  # the helper dies (killed by the system, a crash...)

    try:
        got = _submit_all(away, items, on_result=kill_after_some)
        assert not away.uses_helper  # the rest was computed here
        assert 5 < away.computed_here < len(want)
    finally:
        away.close()
    assert _reprs(got) == _reprs(want)


def test_a_helper_that_dies_before_it_is_ready_is_not_waited_for():
    items = _items()
    want = _submit_all(BlockPipeline(SETTINGS, 200.0), items)
    helper = _helper()
    helper._process.kill()
    away = BlockPipeline(SETTINGS, 200.0, helper=helper)
    try:
        assert not away.hand_over(wait=True)
        got = _submit_all(away, items)
        assert not away.uses_helper and away.computed_here == len(want)
    finally:
        away.close()
    assert _reprs(got) == _reprs(want)


def test_no_helper_with_a_single_core():
    assert EngineHelper.launch(cores=1) is None


def test_the_helper_encodes_each_whole_block_of_indices_as_the_recorder_would():
    # the helper also encodes the live indices of every whole block of CHUNK_BEATS settled beats
    # (aligned on seq 0, as a recorder's blocks): the chunks columnar_chunks gives for the rows the
    # recorder is given, (index, to_json_dict()) of each beat, for Recorder.offer_block_chunks
    from sessions.index_chunks import CHUNK_BEATS, columnar_chunks

    sim = RRSimulator(6, ectopic_rate=0.01, quantise_ticks=True)
    items: list[Beat | Gap] = [Beat(b.rr_ms, b.t_s) for b in sim.beats_until(2000.0)]
    want = [b for r in _submit_all(BlockPipeline(SETTINGS, 300.0), items) for b in r]
    away = BlockPipeline(SETTINGS, 300.0, helper=_helper())
    offered = []
    try:
        assert away.hand_over(wait=True)
        got = _submit_all(away, items, on_result=lambda n: offered.extend(away.take_block_chunks()))
        offered.extend(away.take_block_chunks())
    finally:
        away.close()
    assert [repr(b) for r in got for b in r] == [repr(b) for b in want]
    assert len(want) >= 2 * CHUNK_BEATS
    assert [(first, last) for first, last, _ in offered] == [
        (k * CHUNK_BEATS, (k + 1) * CHUNK_BEATS - 1) for k in range(len(want) // CHUNK_BEATS)]
    for first, last, chunks in offered:
        rows = [(b.index, b.to_json_dict()) for b in want[first:last + 1]]
        assert chunks == list(columnar_chunks(rows))


def test_the_helpers_pipes_hold_many_answers():
    # An answer of the engine's helper that carries a block's index chunks is ~150 KB: in a default
    # 64 KiB pipe the helper waits mid-answer for the session's reader thread. Its pipes are asked
    # for 1 MiB (or as much as the system allows an unprivileged process).
    import fcntl
    from pathlib import Path

    import pytest

    from sessions.helper_process import PIPE_BYTES, start_helper

    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("no F_GETPIPE_SZ on this system (pipe sizes are Linux's)")
    limit = Path("/proc/sys/fs/pipe-max-size")
    want = min(PIPE_BYTES, int(limit.read_text())) if limit.exists() else PIPE_BYTES
    process = start_helper("sessions.engine_worker", cores=2)
    assert process is not None and process.stdin is not None and process.stdout is not None
    try:
        for pipe in (process.stdin, process.stdout):
            assert fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) >= want > 64 * 1024
    finally:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()

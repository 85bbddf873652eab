"""`biofeedback analyze FILE...`: a cohort's rows equal the single-file `--json` of each file, on a
local process pool and on a Dask cluster; a broken file is a row, not the end; the extras' absence
is said honestly (a real import failure in a subprocess, not a patch of our code)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biofeedback.cli.main import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    rr = np.round(850.0 + 50.0 * np.sin(2 * np.pi * np.arange(n) * 0.85 / 6.0) + rng.normal(0, 10.0, n))
    if seed == 2:
        rr[150] -= 300.0  # an ectopic pair: the artifact path is part of the row too
        rr[151] += 300.0
    path.write_text("".join(f"{v:g}\n" for v in rr))
    return path


@pytest.fixture
def cohort(tmp_path: Path) -> list[Path]:
    d = tmp_path / "study"
    d.mkdir()
    return [_write(d / f"s{i}.txt", 300 + 40 * i, seed=i) for i in range(3)]


def _main(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["analyze", *map(str, argv)])
    return rc, out.getvalue(), err.getvalue()


def _single(path: Path) -> dict:
    rc, out, _ = _main(path, "--json")
    assert rc == 0
    return json.loads(out)


def _cli(*argv: str | Path, pythonpath: list[Path] | None = None,
         extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(map(str, [*(pythonpath or []), PROJECT_ROOT]))
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "biofeedback.cli", "analyze", *map(str, argv)],
                          capture_output=True, text=True, timeout=120, env=env)


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_local_pool_rows_equal_single_file_json(cohort: list[Path]) -> None:
    # reversed: the rows come in the order given, not the order of the folder or of completion
    files = cohort[::-1]
    proc = _cli(*files, "--json", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    rows = _rows(proc.stdout)
    assert [r["file"] for r in rows] == [str(f) for f in files]
    for f, row in zip(files, rows):
        single = _single(f)
        assert {k: v for k, v in row.items() if k != "file"} == single
        assert list(row) == ["file", *single]  # every key of the single-file output, in its order
    # the units inference of each file is still said, naming the file
    for f in files:
        assert f"{f}: units inferred as milliseconds" in proc.stderr


def test_local_workers_start_loaded_and_take_the_largest_recordings_first(cohort: list[Path],
                                                                          tmp_path: Path) -> None:
    """The workers fork from the command after it has loaded the analysis: a worker's CPU time before
    its first recording is the hand-over of the task, not the ~1 s of importing the HRV core and
    loading its compiled kernels (what a fresh or forkserver worker pays). The largest recording
    goes first, the smallest last; the rows stay in the order given."""
    trace = tmp_path / "trace.json"
    files = [cohort[0], cohort[2], cohort[1]]  # 300, 380, 340 beats
    proc = _cli(*files, "--json", "--jobs", "2", extra_env={"BIOFEEDBACK_COHORT_TRACE": str(trace)})
    assert proc.returncode == 0, proc.stderr
    assert [r["file"] for r in _rows(proc.stdout)] == [str(f) for f in files]
    t = json.loads(trace.read_text())
    assert t["start_method"] == "fork" and t["jobs"] == 2
    recs = t["recordings"]
    assert [r["file"] for r in recs] == [str(f) for f in files]
    firsts: dict[int, dict] = {}
    for r in sorted(recs, key=lambda r: r["start_s"]):
        firsts.setdefault(r["pid"], r)
    assert len(firsts) == 2 and os.getpid() not in firsts
    assert all(r["cpu_before_s"] < 0.25 for r in firsts.values()), firsts
    assert all(t["pool_start_s"] <= r["start_s"] for r in recs)
    assert max(recs, key=lambda r: r["start_s"])["file"] == str(cohort[0])  # the smallest, last
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600


def test_workers_fork_only_while_no_other_thread_runs() -> None:
    """A thread running at ``fork`` (the progress bar's, a library's) could hold a lock the worker
    then waits on forever: with one running, workers come from a forkserver instead."""
    import threading

    from sessions.cohort import start_method

    assert start_method() == "fork"
    release = threading.Event()
    t = threading.Thread(target=release.wait)
    t.start()
    try:
        assert start_method() == "forkserver"
    finally:
        release.set()
        t.join()
    assert start_method() == "fork"


@pytest.mark.parametrize("mode", [["--json"], ["--per-beat", "--out", "unused"]])
def test_the_warm_up_loads_all_that_a_recording_needs(cohort: list[Path], mode: list[str]) -> None:
    """After ``warm_up`` (what the command runs before its workers fork), analysing a real file loads
    no compiled kernel signature and imports no module: a forked worker has nothing left to load."""
    code = """if True:
        import json, sys
        import numba
        from biofeedback.cli import cmd_analyze
        from biofeedback.cli.main import build_parser
        from biofeedback.hrv import _beat_kernels, _entropy_kernels, _kernels
        from biofeedback.hrv.artifacts import _kernels as _artifact_kernels

        def loaded():
            return {(m.__name__, n, str(s)) for m in (_kernels, _beat_kernels, _entropy_kernels, _artifact_kernels)
                    for n in dir(m)
                    if isinstance(k := getattr(m, n), numba.core.registry.CPUDispatcher)
                    for s in k.signatures}

        mode, files = json.loads(sys.argv[1]), sys.argv[2:]
        args = build_parser().parse_args(["analyze", *files, *mode])
        cmd_analyze.warm_up(args)
        kernels, modules = loaded(), set(sys.modules)
        assert kernels, "the warm-up loaded no compiled kernel"
        for f in files:
            if args.per_beat:
                rows, _ = cmd_analyze.file_per_beat(args, f)
                assert sum(1 for _ in rows) > 300
            else:
                cmd_analyze.file_json(args, f)
        print(json.dumps({"kernels": sorted(map(list, loaded() - kernels)),
                          "modules": sorted(set(sys.modules) - modules)}))
    """
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(mode), *map(str, cohort[1:])],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"kernels": [], "modules": []}


def test_dask_cluster_rows_equal_single_file_json(cohort: list[Path]) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        rc, out, err = _main(*cohort, "--json", "--scheduler", cluster.scheduler_address)
    assert rc == 0, err
    rows = _rows(out)
    assert [r["file"] for r in rows] == [str(f) for f in cohort]
    for f, row in zip(cohort, rows):
        assert {k: v for k, v in row.items() if k != "file"} == _single(f)


def test_a_broken_file_is_a_row_and_the_rest_go_on(cohort: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("800\n810\nnot a beat\n820\n")
    missing = tmp_path / "missing.txt"
    rc, out, err = _main(cohort[0], bad, cohort[1], missing, "--json", "--jobs", "1")
    assert rc == 1
    rows = _rows(out)
    assert [r["file"] for r in rows] == [str(cohort[0]), str(bad), str(cohort[1]), str(missing)]
    assert rows[1] == {"file": str(bad), "error": f"{bad}:3: not a number: 'not a beat'"}
    assert rows[3] == {"file": str(missing), "error": f"{missing}: no such file"}
    assert {k: v for k, v in rows[2].items() if k != "file"} == _single(cohort[1])
    assert f"2 of 4 recordings failed: {bad}, {missing}" in err.splitlines()[-1]


def test_folder_and_glob_expand_to_sorted_rr_files_and_csv_goes_to_a_private_file(
        cohort: list[Path], tmp_path: Path) -> None:
    (cohort[0].parent / "notes.md").write_text("not an RR file\n")
    out_csv = tmp_path / "cohort.csv"
    rc, out, err = _main(cohort[0].parent, "--csv", "--out", out_csv, "--jobs", "1")
    assert rc == 0, err
    assert out == ""
    assert stat.S_IMODE(out_csv.stat().st_mode) == 0o600
    import csv

    rows = list(csv.reader(out_csv.read_text().splitlines()))
    header = rows[0]
    single = _single(cohort[0])
    flat = [k for k in single if k not in ("quality", "notes")]
    assert header == ["file", *flat, *(f"quality_{k}" for k in single["quality"]), "notes", "error"]
    assert [row[0] for row in rows[1:]] == [str(f) for f in cohort]
    first = dict(zip(header, rows[1]))
    assert float(first["rmssd_ms"]) == single["rmssd_ms"]
    assert first["quality_verdict"] == single["quality"]["verdict"]
    assert first["error"] == ""
    rc, out, _ = _main(str(cohort[0].parent / "s[12].txt"), "--json", "--jobs", "1")
    assert rc == 0
    assert [r["file"] for r in _rows(out)] == [str(f) for f in cohort[1:]]


def test_one_file_keeps_the_single_file_output(cohort: list[Path]) -> None:
    rc, out, _ = _main(cohort[0], "--json", "--jobs", "2")
    assert rc == 0
    assert json.loads(out) == _single(cohort[0])
    assert "file" not in json.loads(out)


def test_per_beat_files_equal_the_single_file_per_beat_output(cohort: list[Path], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out_dir = tmp_path / "per-beat"
    rc, out, err = _main(*cohort[:2], "--per-beat", "--out", out_dir, "--jobs", "1")
    assert rc == 0, err
    rows = _rows(out)
    assert [r["per_beat_file"] for r in rows] == [str(out_dir / "s0.parquet"), str(out_dir / "s1.parquet")]
    assert stat.S_IMODE(out_dir.stat().st_mode) == 0o700
    for f, row in zip(cohort, rows):
        rc, single, _ = _main(f, "--per-beat", "--jsonl")
        expected = _rows(single)
        table = pq.read_table(row["per_beat_file"]).to_pylist()
        assert row["n_rows"] == len(table) == len(expected)
        assert table == expected
        assert stat.S_IMODE(Path(row["per_beat_file"]).stat().st_mode) == 0o600


def _blocker(tmp_path: Path, *names: str) -> Path:
    """A folder put first on sys.path whose packages fail to import, as when they are not installed."""
    d = tmp_path / "blocked"
    for name in names:
        (d / name).mkdir(parents=True)
        (d / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed (blocked by the test)')\n")
    return d


def test_scheduler_without_the_cluster_extra_says_how_to_install_it(cohort: list[Path], tmp_path: Path) -> None:
    proc = _cli(*cohort, "--json", "--scheduler", "tcp://127.0.0.1:8786",
                pythonpath=[_blocker(tmp_path, "distributed")])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "biofeedback analyze: error: --scheduler needs Dask's distributed client: "
        "pip install 'biofeedback[cluster]'"
    ]


def test_per_beat_without_pyarrow_writes_json_lines(cohort: list[Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "per-beat"
    proc = _cli(cohort[0], cohort[1], "--per-beat", "--out", out_dir, "--jobs", "1",
                pythonpath=[_blocker(tmp_path, "pyarrow")])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["s0.jsonl", "s1.jsonl"]
    _, single, _ = _main(cohort[0], "--per-beat", "--jsonl")
    assert (out_dir / "s0.jsonl").read_text() == single


def test_progress_on_a_terminal_and_the_rows_still_go_to_stdout(cohort: list[Path], tmp_path: Path) -> None:
    import pty

    bad = tmp_path / "bad.txt"
    bad.write_text("800\nx\n")
    master, slave = pty.openpty()  # stderr is a terminal: the progress bar is drawn there
    out_path = tmp_path / "rows.jsonl"
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), COLUMNS="100")
    with out_path.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "analyze", *map(str, cohort), str(bad),
                                 "--json", "--jobs", "1"], stdout=out, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 1
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert "4/4" in terminal and "beats/s" in terminal and "left" in terminal
    assert f"1 of 4 recordings failed: {bad}" in terminal
    rows = _rows(out_path.read_text())
    assert [r["file"] for r in rows] == [*map(str, cohort), str(bad)]

"""Validity figures of the HRV indices, printed in one run; docs/indices.md quotes this output.

Usage (from the project root, in the project's virtualenv; NeuroKit2 is installed there)::

    python benchmarks/validity.py                  # every section
    python benchmarks/validity.py coherence        # some sections: coherence, extended, speed,
                                                   # detector, quality (from validity_artifacts.py)

Each section is a function ``section_x() -> list[str]`` (the lines it prints), listed in
``SECTIONS``; add a section by writing one and listing it. Recordings come from ``../shared/data``
(see its MANIFEST.md); a section that needs a missing file says so and is skipped.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback.hrv.ar_spectrum import ar_spectrum  # noqa: E402
from biofeedback.hrv.coherence import coherence  # noqa: E402
from biofeedback.hrv.dfa import dfa  # noqa: E402
from biofeedback.hrv.entropy import entropies  # noqa: E402
from biofeedback.hrv.frequency_domain import frequency_domain  # noqa: E402
from biofeedback.hrv.geometric import geometric  # noqa: E402
from biofeedback.hrv.summary import mean_coherence  # noqa: E402
from biofeedback.hrv.time_domain import nnxx_count  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validity_artifacts import section_detector, section_quality  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ONE_HOUR = [DATA / "one-hour" / f"pyhrv_series_{i}_rr_ms.txt" for i in range(1, 8)]
HOLTER = DATA / "holter" / "rr_healthy_subjects_000_ms.txt"


class Missing(Exception):
    pass


def _load(path: Path) -> np.ndarray:
    if not path.exists():
        raise Missing(f"missing recording {path}")
    return np.loadtxt(path)


# -- coherence -----------------------------------------------------------------------------------
def _paced(freq_hz: float, phase: float, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose RR swings ±60 ms at ``freq_hz`` around 900 ms, plus ``noise`` (ms)."""
    rr = np.empty(noise.size)
    t = np.empty(noise.size)
    now = 0.0
    for i in range(noise.size):
        rr[i] = 900.0 + 60.0 * math.sin(2 * math.pi * freq_hz * now + phase) + noise[i]
        now += rr[i] / 1000.0
        t[i] = now
    return t, rr


def section_coherence() -> list[str]:
    """Coherence of equal oscillations at 0.085-0.115 Hz, version 1 ("grid") vs version 2 ("fine")."""
    freqs = np.round(np.arange(0.085, 0.1151, 0.005), 4)
    out = ["coherence: equal oscillations (RR ±60 ms) at 0.085-0.115 Hz; spread = max/min"]
    out.append("  five-minute series, same swing, same noise (20 ms SD), mean ratio over 64 s windows every 5 s:")
    noise = 20.0 * np.random.default_rng(1).standard_normal(340)
    rows = {}
    for method in ("grid", "fine"):
        rows[method] = [mean_coherence(*_paced(f, 0.3, noise), method=method) for f in freqs]  # type: ignore[arg-type]
    out.append("    Hz        " + " ".join(f"{f:>6.3f}" for f in freqs) + "   spread  0.1 Hz lowest?")
    for method, label in (("grid", "v1 grid"), ("fine", "v2 fine")):
        v = rows[method]
        lowest = "yes" if int(np.argmin(v)) == int(np.argmin(np.abs(freqs - 0.1))) else "no"
        out.append(f"    {label:<9} " + " ".join(f"{x:6.2f}" for x in v) + f"   {max(v) / min(v):6.3f}  {lowest}")
    out.append("  single 64 s windows, 2 ms jitter, 25 frequencies x 6 phases (every pair compared):")
    fine_f = np.linspace(0.085, 0.115, 25)
    jitter = 2.0 * np.random.default_rng(2).standard_normal(80)
    for method, label in (("grid", "v1 grid"), ("fine", "v2 fine")):
        vals = np.array([[coherence(*_paced(f, ph, jitter), method=method).ratio  # type: ignore[arg-type]
                          for ph in np.linspace(0, 2 * math.pi, 6, endpoint=False)] for f in fine_f])
        out.append(f"    {label:<9} min {vals.min():.2f}  max {vals.max():.2f}  spread {vals.max() / vals.min():.3f}"
                   f"  (mean over phase: spread {vals.mean(1).max() / vals.mean(1).min():.3f})")
    out += _simulated_rates()
    return out


def _simulated_rates() -> list[str]:
    """The simulator breathing at 4.5, 5.5 and 6/min for 5 min (no artifacts): LF power and coherence."""
    from biofeedback.practices import Protocol, customize, get_practice
    from sessions.simulated import simulated_person

    out = ["  simulator, resonance practice, 5 min, seed 1, no artifacts (mean ratio as analyze reports it):"]
    protocol = Protocol(baseline_s=0, practice_s=300, recovery_s=0)
    for rate in (4.5, 5.5, 6.0):
        practice = customize(get_practice("resonance"), rate_bpm=rate)
        sim = simulated_person(practice, protocol, seed=1, ectopic_rate=0.0, missed_rate=0.0)
        beats = sim.beats_until(300.0)
        t = np.array([b.t_s for b in beats])
        rr = np.array([b.rr_ms for b in beats])
        lf = frequency_domain(t, rr).lf_ms2
        grid = mean_coherence(t, rr, method="grid")
        fine = mean_coherence(t, rr, method="fine")
        out.append(f"    {rate:>4}/min ({rate / 60:.3f} Hz): LF {lf:8.0f} ms²"
                   f"  v1 grid {grid:5.2f}  v2 fine {fine:5.2f}")
    return out


# -- extended indices ----------------------------------------------------------------------------
def _nk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neurokit2 as nk
    return nk


def section_extended() -> list[str]:
    """The new indices on the shared 1 h recordings (raw series), next to NeuroKit2 where comparable."""
    nk = _nk()
    out = [
        "extended indices, raw series of the shared 1 h recordings (ours | NeuroKit2 where comparable):",
        "  ApEn: same definition (NK entropy_approximate, r = 0.2 SDNN). SampEn: NK counts B over N-m",
        "  templates, Kubios over N-m+1. DFA: NK fractal_dfa(overlap=False). HTI: NK hrv_time (1/128 s bins",
        "  from 0). TINN: NK sums the error inside the triangle only; ours over the whole histogram (Task",
        "  Force). AR: no armcov in NK; Welch LF/HF (ours) shown for context.",
    ]
    head = ("file", "nn50", "apen", "apen_nk", "sampen", "sampen_nk", "a1", "a1_nk", "a2", "a2_nk",
            "hti", "hti_nk", "tinn", "tinn_nk", "lf_hf_ar", "lf_hf_welch")
    out.append("  " + " ".join(f"{h:>10}" for h in head))
    worst: dict[str, float] = {}
    for path in ONE_HOUR:
        x = _load(path)
        e = entropies(x)
        d = dfa(x)
        g = geometric(x)
        ar = ar_spectrum(None, x)
        fd = frequency_domain(None, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            apen_nk = nk.entropy_approximate(x, dimension=2, tolerance=e.r_ms)[0]
            sampen_nk = nk.entropy_sample(x, dimension=2, tolerance=e.r_ms)[0]
            a1_nk = nk.fractal_dfa(x, scale=np.arange(4, 17), overlap=False)[0]
            a2_nk = nk.fractal_dfa(x, scale=np.arange(17, 65), overlap=False)[0]
            h = nk.hrv_time(nk.intervals_to_peaks(x, sampling_rate=1000), sampling_rate=1000)
        hti_nk, tinn_nk = float(h["HRV_HTI"].iloc[0]), float(h["HRV_TINN"].iloc[0])
        vals = (nnxx_count(x, 50.0), e.apen, apen_nk, e.sampen, sampen_nk, d.alpha1, a1_nk, d.alpha2, a2_nk,
                g.hrv_triangular_index, hti_nk, g.tinn_ms, tinn_nk, ar.lf_hf_ar, fd.lf_hf)
        out.append(f"  {path.name.replace('_rr_ms.txt', ''):>10} " + " ".join(
            f"{v:>10d}" if isinstance(v, int) else f"{v:>10.4f}" for v in vals))
        for key, ours, theirs in (("apen", e.apen, apen_nk), ("sampen", e.sampen, sampen_nk),
                                  ("dfa_alpha1", d.alpha1, a1_nk), ("dfa_alpha2", d.alpha2, a2_nk),
                                  ("hti", g.hrv_triangular_index, hti_nk)):
            worst[key] = max(worst.get(key, 0.0), abs(ours / theirs - 1.0))
        worst["tinn ours/nk"] = max(worst.get("tinn ours/nk", 0.0), g.tinn_ms / tinn_nk)
    out.append("  largest relative difference to NeuroKit2: " + ", ".join(
        f"{k} {v:.2e}" if k != "tinn ours/nk" else f"largest TINN ratio ours/NK {v:.2f}" for k, v in worst.items()))
    return out


# -- speed ---------------------------------------------------------------------------------------
SPEED_GOALS_S = ((3.0, "issue 17"), (1.5, "issue 13"))
SPEED_RUNS = 5

# Run in a fresh process by section_speed: the CPU seconds of each stage of `analyze --json`, in the
# order the command runs them (the same functions, called as cmd_analyze calls them), as JSON.
_PHASES = r"""
import gc, json, sys, time
gc.disable()  # as the command does in its own process (cmd_analyze.run)
clock = time.process_time
out = {}
import os
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # as biofeedback.cli.main, before numpy
    os.environ.setdefault(var, "1")
import numpy
out["start-up: interpreter and numpy"] = c = clock()
import numba
out["import numba (llvmlite, numba's types; no scipy yet)"] = clock() - c
c = clock()
import biofeedback.cli.main as main
parser = main.build_parser()
from biofeedback.cli import cmd_analyze as ca
from biofeedback.engine import EngineSettings
from biofeedback.hrv import _kernels
out["import the CLI and the HRV core (its numba decorators included)"] = clock() - c
args = parser.parse_args(["analyze", sys.argv[1], "--units", "ms", "--json"])
import numpy as np
c = clock()
_kernels.spacing_range(np.zeros(2))
out["numba: first call of a cached kernel (its typing and target registries, NRT; no scipy.linalg, no cffi: biofeedback.hrv._numba)"] = clock() - c
def stage(name, fn):
    c = clock(); r = fn(); out[name] = out.get(name, 0.0) + clock() - c; return r
from biofeedback.hrv.policy import apply_policy
from biofeedback.hrv.summary import mean_coherence
from biofeedback.hrv.time_domain import time_domain
from biofeedback.hrv.frequency_domain import frequency_domain
from biofeedback.hrv.extended import ar_spectrum, entropies, dfa, geometric
settings = stage("settings", lambda: ca._settings(args))
rec = stage("read the text file (detect format, parse, check)", lambda: ca._read(args, sys.argv[1]))
rr, t, b = stage("beat times and gaps", lambda: ca._beats(rec))
beats = stage("artifact detection (offline classifier) and policy",
              lambda: apply_policy(rr, t, b, correction="exclude", settings=settings.artifacts))
R, T, V, B = beats.rr_ms, beats.t_s, beats.valid, beats.breaks
stage("time domain", lambda: time_domain(R, V, B))
stage("frequency domain (Welch)", lambda: frequency_domain(T, R, V))
stage("mean coherence (64 s windows every 5 s)", lambda: mean_coherence(T, R, V))
stage("AR spectrum", lambda: ar_spectrum(T, R, V))
stage("ApEn + SampEn", lambda: entropies(R, V))
stage("DFA", lambda: dfa(R, V))
stage("triangular index + TINN", lambda: geometric(R, V))
total = clock()
d = ca.summary_json(args, rec, settings)  # the command's own summary, once more: the remainder
out["the whole summary once more, everything loaded (the stages above without first-use costs)"] = clock() - total
json.dumps(d)
print(json.dumps(out))
"""


def measure_speed() -> dict:
    """``analyze --json`` of the 22 h Holter recording (80 441 beats), each run a fresh process:
    ``{"beats", "walls", "cpus", "phases"}``: wall and CPU (user + system) seconds of
    ``SPEED_RUNS`` runs, then the CPU of each stage, measured in one more fresh process."""
    import json
    import resource

    x = _load(HOLTER)
    cmd = [sys.executable, "-m", "biofeedback.cli", "analyze", str(HOLTER), "--units", "ms", "--json"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run(cmd, capture_output=True, env=env, check=True)  # warm the compiled-kernel cache
    walls, cpus = [], []
    for _ in range(SPEED_RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    phases = json.loads(subprocess.run([sys.executable, "-c", _PHASES, str(HOLTER)], capture_output=True, env=env,
                                       check=True, text=True).stdout)
    return {"beats": int(x.size), "walls": walls, "cpus": cpus, "phases": phases}


def section_speed() -> list[str]:
    """:func:`measure_speed` as lines: min and median against both goals, then the stages."""
    import statistics

    m = measure_speed()
    walls, cpus = m["walls"], m["cpus"]

    def verdict(v: float) -> str:
        return ", ".join(f"{'meets' if v <= goal else 'misses'} <= {goal:g} s ({who})" for goal, who in SPEED_GOALS_S)

    out = [
        f"speed: analyze --json {HOLTER.name} ({m['beats']} beats), {SPEED_RUNS} fresh processes "
        f"(goals: <= 3 s, issue 17; <= 1.5 s, issue 13)",
        f"  wall  min {min(walls):.2f} s, median {statistics.median(walls):.2f} s: {verdict(min(walls))}",
        f"  CPU   min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s (user + system): "
        f"{verdict(min(cpus))}",
        "  wall > CPU means the machine was busy; on an idle machine wall is about the CPU time.",
        "  (the command exits without the interpreter's teardown, 0.2-0.4 s with numba loaded: not a stage below)",
        "  CPU of each stage (one more fresh process, in the order the command runs them):",
    ]
    for name, sec in m["phases"].items():
        out.append(f"    {sec:5.2f} s  {name}")
    return out


def speed_rows(opts: object) -> list:
    """The same figures as rows of ``benchmarks/run.py`` (section ``analyze-json``, issue 13's list)."""
    import statistics

    from bench_engine import Row

    try:
        m = measure_speed()
    except Missing as exc:
        return [Row("analyze-json", "skipped", str(exc))]
    wall, cpu = statistics.median(m["walls"]), statistics.median(m["cpus"])
    what = f"analyze --json 22 h ({m['beats']} beats), median of {SPEED_RUNS}"
    rows = [Row("analyze-json", f"{what}, wall", f"{wall:.2f} s", f"<= {goal:g} s ({who})", wall <= goal)
            for goal, who in SPEED_GOALS_S]
    rows.append(Row("analyze-json", f"{what}, CPU (user + system)", f"{cpu:.2f} s",
                    "wall on an idle machine is about this"))
    return rows


def _printing(section: Callable[[Path], None]) -> Callable[[], list[str]]:
    """A section of ``validity_artifacts.py`` (it prints as it goes) as a section of this script."""

    def run() -> list[str]:
        if not DATA.is_dir():
            raise Missing(f"{DATA} absent")
        section(DATA)
        return []

    return run


SECTIONS: dict[str, Callable[[], list[str]]] = {
    "coherence": section_coherence,
    "extended": section_extended,
    "speed": section_speed,
    "detector": _printing(section_detector),  # docs/artifacts.md, "Validation"
    "quality": _printing(section_quality),  # docs/artifacts.md, "Artifact policy" and "Signal quality"
}


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        print(f"validity.py: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    for name in names:
        try:
            lines = SECTIONS[name]()
        except Missing as exc:
            lines = [f"{name}: skipped, {exc}"]
        print("\n".join(lines))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

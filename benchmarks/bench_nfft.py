"""Engine settings version 3 (the Welch FFT zero-padded to a fixed length): the figures in
docs/engine.md ("Settings versions") and docs/indices.md, recomputed in one run.

Usage (from the project root, in the project's virtualenv)::

    python benchmarks/bench_nfft.py            # FFT lengths, us per beat, v2 vs v3 indices
    python benchmarks/bench_nfft.py --quick    # fewer beats (a smoke run)

1. ``numpy.fft.rfft`` of a 479-sample Hann-windowed series (a 120 s window at 4 Hz) at the
   candidate lengths: its own (478-481: 479 is prime, the Bluestein path), 480, 512, 1200 (one full
   300 s segment: the grid 1/300 Hz of every longer spectrum), 2048 (the coherence spectrum).
2. ``HRVEngine.push`` per beat over the first beats of the 21 h Holter file, version 2 against
   version 3 (and, for the choice only, the candidate nfft = 512), in alternating blocks of the same
   run, best of the repeats: the machine may be loaded, so compare the ratios, not the absolute us.
3. The indices of the whole 21 h file, version 2 against version 3: relative differences of
   ``lf_ms2``, ``hf_ms2``, ``lf_hf`` (median and max over the beats where both are defined) and the
   absolute difference of ``lf_peak_hz``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biofeedback.beat import Beat, Gap  # noqa: E402
from biofeedback.engine import EngineSettings, HRVEngine  # noqa: E402

HOLTER = ROOT.parent / "shared" / "data" / "holter" / "rr_healthy_subjects_000_ms.txt"
GAP_MS = 3000.0  # the CLI's rule for a file without gaps marked: none here (a Holter file of beats)


def _beats(rr_ms: np.ndarray) -> list[Beat]:
    t = np.cumsum(rr_ms) / 1000.0
    return [Beat(rr_ms=float(r), t_s=float(ti)) for r, ti in zip(rr_ms, t)]


def fft_lengths(repeats: int = 8) -> list[str]:
    from numpy.fft import rfft

    x = np.hanning(479) * np.random.default_rng(0).standard_normal(479)
    lengths = (478, 479, 480, 481, 512, 1200, 2048)
    best = dict.fromkeys(lengths, math.inf)
    for _ in range(repeats):
        for n in lengths:
            for _ in range(50):
                rfft(x, n)  # warm the plan cache
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(200):
                    rfft(x, n)
                best[n] = min(best[n], (time.perf_counter() - t0) / 200)
    return [f"  rfft of 479 samples at length {n:5d}: {best[n] * 1e6:6.1f} us" for n in lengths]


def _engine(version: int, nfft_override: int | None = None) -> HRVEngine:
    eng = HRVEngine(EngineSettings(version=version))
    if nfft_override is not None:
        eng._welch_nfft = nfft_override  # a candidate only, for the choice (not a settings version)
    return eng


def per_beat(beats: list[Beat], n_warm: int, n_timed: int, repeats: int) -> list[str]:
    """us per push over beats[n_warm : n_warm + n_timed], engines filled with the first n_warm."""
    variants = {"version 2 (nfft = own length)": (2, None), "version 3 (nfft = 1200)": (3, None),
                "candidate nfft = 512": (3, 512)}
    best = dict.fromkeys(variants, math.inf)
    for _ in range(repeats):
        for name, (version, nfft) in variants.items():
            eng = _engine(version, nfft)
            for b in beats[:n_warm]:
                eng.push(b)
            timed = beats[n_warm:n_warm + n_timed]
            t0 = time.perf_counter()
            for b in timed:
                eng.push(b)
            best[name] = min(best[name], (time.perf_counter() - t0) / len(timed))
    base = best["version 2 (nfft = own length)"]
    return [f"  {name:32s} {v * 1e6:7.1f} us/beat  ({v / base:.2f} x version 2)" for name, v in best.items()]


def _indices(version: int, beats: list[Beat]) -> dict[str, np.ndarray]:
    eng = _engine(version)
    out = []
    for b in beats:
        out += eng.push(b)
    out += eng.flush()
    keys = ("lf_ms2", "hf_ms2", "lf_hf", "lf_peak_hz", "hf_peak_hz", "vlf_ms2")
    return {k: np.array([getattr(x, k) for x in out], dtype=float) for k in keys}


def index_differences(beats: list[Beat]) -> list[str]:
    a, b = _indices(2, beats), _indices(3, beats)
    lines = [f"  {len(beats)} beats; version 2 -> version 3 (beats where both are defined):"]
    for k in ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf"):
        m = np.isfinite(a[k]) & np.isfinite(b[k]) & (a[k] != 0)
        rel = np.abs(b[k][m] / a[k][m] - 1.0)
        lines.append(f"  {k:10s} relative difference: median {np.median(rel):.2e}, p99 "
                     f"{np.percentile(rel, 99):.2e}, max {rel.max():.2e} (n = {m.sum()})")
    for k in ("lf_peak_hz", "hf_peak_hz"):
        m = np.isfinite(a[k]) & np.isfinite(b[k])
        d = np.abs(b[k][m] - a[k][m])
        lines.append(f"  {k:10s} absolute difference: median {np.median(d):.4f} Hz, p99 "
                     f"{np.percentile(d, 99):.4f} Hz, max {d.max():.4f} Hz")
    return lines


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    if not HOLTER.exists():
        print(f"bench_nfft.py: {HOLTER} absent", file=sys.stderr)
        return 1
    rr = np.loadtxt(HOLTER)
    beats = _beats(rr[:3000] if quick else rr)
    _ = Gap  # the file has no marked gaps
    print("FFT lengths (numpy.fft.rfft, best of repeats):")
    print("\n".join(fft_lengths(2 if quick else 8)))
    print("HRVEngine.push per beat (defaults; 21 h Holter file, beats 300-2300 after 300 to fill the windows):")
    print("\n".join(per_beat(beats, 300, 500 if quick else 2000, 2 if quick else 5)))
    print("Indices, version 2 against version 3:")
    print("\n".join(index_differences(beats)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

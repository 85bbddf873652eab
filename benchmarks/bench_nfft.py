"""Engine settings version 3 (the Welch FFT zero-padded to a fixed length): the figures in
docs/engine.md ("Settings versions") and docs/indices.md, recomputed in one run.

Usage (from the project root, in the project's virtualenv)::

    python benchmarks/bench_nfft.py            # FFT lengths, us per beat, v2 vs v3 indices
    python benchmarks/bench_nfft.py --quick    # fewer beats (a smoke run)

1. ``numpy.fft.rfft`` of a 479-sample Hann-windowed series (a 120 s window at 4 Hz) at the
   candidate lengths: its own (478-481: 479 is prime, the Bluestein path), 480, 512, 1200 (one full
   300 s segment: the grid 1/300 Hz of every longer spectrum), 2048 (the coherence spectrum); and
   the coherence window's 257 samples at 2048 and the next lengths with a step <= 1/512 Hz.
2. ``HRVEngine.push`` per beat over the first beats of the 21 h Holter file, version 2 against
   version 3 (and, for the choice only, the candidate nfft = 512): engines of each variant advance
   in lockstep in blocks of 50 beats, each block's time the best of 3 engines: the machine may be
   loaded, so compare the ratios.
   The part that changes alone: ``window_welch_spectrum`` + ``indices_from_spectrum`` per window.
3. The indices of the whole 21 h file, version 2 against version 3: relative differences of
   ``vlf_ms2``, ``lf_ms2``, ``hf_ms2``, ``lf_hf`` (median, p99 and max over the beats with a full
   120 s window where both are defined; the max over every beat) and the absolute difference of
   the peak frequencies.
4. LF and HF of 120 s windows at each candidate nfft against the same windowed periodogram sampled
   16 times finer (nfft = 19 200): the error of each grid's trapezoid integral.
5. The whole-recording frequency indices (``analyze --json``) of every plain RR file of the shared
   data, whole (unchanged: 300 s segments are already 1200 points) and cut to 60, 120, 240 s.
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


def fft_lengths(repeats: int = 8, n_samples: int = 479,
                lengths: tuple[int, ...] = (478, 479, 480, 481, 512, 1200, 2048)) -> list[str]:
    from numpy.fft import rfft

    x = np.hanning(n_samples) * np.random.default_rng(0).standard_normal(n_samples)
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
    return [f"  rfft of {n_samples} samples at length {n:5d}: {best[n] * 1e6:6.1f} us" for n in lengths]


def _engine(version: int, nfft_override: int | None = None) -> HRVEngine:
    eng = HRVEngine(EngineSettings(version=version))
    if nfft_override is not None:
        eng._welch_nfft = nfft_override  # a candidate only, for the choice (not a settings version)
    return eng


def per_beat(beats: list[Beat], n_warm: int, n_timed: int, repeats: int, block: int = 50) -> list[str]:
    """us per push over beats[n_warm : n_warm + n_timed], engines filled with the first n_warm.

    ``repeats`` engines per variant advance in lockstep, block by block (``block`` beats), the
    variants alternating within each block; a block's time is the best of its repeats, so a burst
    of load from other processes lands on one repeat, not on one variant."""
    variants = {"version 2 (nfft = own length)": (2, None), "version 3 (nfft = 1200)": (3, None),
                "candidate nfft = 512": (3, 512)}
    engines = {name: [_engine(*v) for _ in range(repeats)] for name, v in variants.items()}
    for group in engines.values():
        for eng in group:
            for b in beats[:n_warm]:
                eng.push(b)
    total = dict.fromkeys(variants, 0.0)
    timed = beats[n_warm:n_warm + n_timed]
    for k in range(0, len(timed), block):
        chunk = timed[k:k + block]
        best = dict.fromkeys(variants, math.inf)
        for r in range(repeats):
            for name in variants:
                eng = engines[name][r]
                t0 = time.perf_counter()
                for b in chunk:
                    eng.push(b)
                best[name] = min(best[name], time.perf_counter() - t0)
        for name in variants:
            total[name] += best[name]
    base = total["version 2 (nfft = own length)"]
    return [f"  {name:32s} {v / len(timed) * 1e6:7.1f} us/beat  ({v / base:.2f} x version 2)"
            for name, v in total.items()]


def spectrum_alone(rr_ms: np.ndarray, n_windows: int = 5000, block: int = 50, repeats: int = 3) -> list[str]:
    """The part version 3 changes: the Welch spectrum of the 120 s window and its indices
    (``window_welch_spectrum`` + ``indices_from_spectrum``), per window, at each nfft, in lockstep
    blocks as :func:`per_beat`."""
    from biofeedback.hrv.frequency_domain import indices_from_spectrum, window_welch_spectrum

    t = np.cumsum(rr_ms) / 1000.0
    ends = list(range(400, min(rr_ms.size, 400 + n_windows)))
    los = [int(np.searchsorted(t, t[e] - 120.0, side="left")) for e in ends]
    cands: tuple[int | None, ...] = (None, 512, 1200)
    total = dict.fromkeys(cands, 0.0)
    for k in range(0, len(ends), block):
        best = dict.fromkeys(cands, math.inf)
        for _ in range(repeats):
            for n in cands:
                t0 = time.perf_counter()
                for lo, e in zip(los[k:k + block], ends[k:k + block]):
                    indices_from_spectrum(window_welch_spectrum(t, rr_ms, None, lo, e + 1, nfft=n))  # type: ignore[arg-type]
                best[n] = min(best[n], time.perf_counter() - t0)
        for n in cands:
            total[n] += best[n]
    return [f"  nfft {'own length (v2)' if n is None else n!s:16s} {v / len(ends) * 1e6:6.1f} us per window"
            for n, v in total.items()]


def _indices(version: int, beats: list[Beat]) -> dict[str, np.ndarray]:
    eng = _engine(version)
    out = []
    for b in beats:
        out += eng.push(b)
    out += eng.flush()
    keys = ("t_s", "lf_ms2", "hf_ms2", "lf_hf", "lf_peak_hz", "hf_peak_hz", "vlf_ms2")
    return {k: np.array([getattr(x, k) for x in out], dtype=float) for k in keys}


def index_differences(beats: list[Beat]) -> list[str]:
    a, b = _indices(2, beats), _indices(3, beats)
    # the first 120 s: windows of a few beats whose spectra have a handful of samples (every grid
    # is coarse there), reported apart from the beats with a full 120 s window
    full = a["t_s"] >= a["t_s"][0] + EngineSettings().frequency_window_s
    lines = [f"  {len(beats)} beats; version 2 -> version 3 (beats where both are defined):"]
    for k in ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf"):
        m = np.isfinite(a[k]) & np.isfinite(b[k]) & (a[k] != 0)
        rel_all = np.abs(b[k][m] / a[k][m] - 1.0)
        rel = np.abs(b[k][m & full] / a[k][m & full] - 1.0)
        lines.append(f"  {k:10s} relative difference, full windows: median {np.median(rel):.2e}, p99 "
                     f"{np.percentile(rel, 99):.2e}, max {rel.max():.2e} (n = {rel.size}); "
                     f"all beats: max {rel_all.max():.2e}")
    for k in ("lf_peak_hz", "hf_peak_hz"):
        m = np.isfinite(a[k]) & np.isfinite(b[k]) & full
        d = np.abs(b[k][m] - a[k][m])
        lines.append(f"  {k:10s} absolute difference, full windows: median {np.median(d):.4f} Hz, p99 "
                     f"{np.percentile(d, 99):.4f} Hz, max {d.max():.4f} Hz")
    return lines


def band_accuracy(rr_ms: np.ndarray, step: int = 40) -> list[str]:
    """LF and HF of the 120 s window ending at every ``step``-th beat (after the first 400), at each
    candidate nfft, against the same windowed periodogram sampled 16 times finer than 1/300 Hz
    (nfft = 19 200): how far each grid's trapezoid integral is from the integral it approximates."""
    from biofeedback.hrv.frequency_domain import indices_from_spectrum, window_welch_spectrum

    t = np.cumsum(rr_ms) / 1000.0
    cands: tuple[int | None, ...] = (None, 512, 1200)
    err: dict[int | None, dict[str, list[float]]] = {n: {"lf_ms2": [], "hf_ms2": []} for n in cands}
    for e in range(400, rr_ms.size, step):
        lo = int(np.searchsorted(t, t[e] - 120.0, side="left"))
        ref = indices_from_spectrum(window_welch_spectrum(t, rr_ms, None, lo, e + 1, nfft=19200))  # type: ignore[arg-type]
        for n in cands:
            fd = indices_from_spectrum(window_welch_spectrum(t, rr_ms, None, lo, e + 1, nfft=n))  # type: ignore[arg-type]
            for k in ("lf_ms2", "hf_ms2"):
                err[n][k].append(abs(getattr(fd, k) / getattr(ref, k) - 1.0))
    lines = []
    for n in cands:
        name = "own length (v2)" if n is None else f"{n}" + (" (v3)" if n == 1200 else "")
        parts = [f"{k} median {np.median(v):.1e}, p99 {np.percentile(v, 99):.1e}, max {max(v):.1e}"
                 for k, v in err[n].items()]
        lines.append(f"  nfft {name:16s} " + "; ".join(parts))
    return lines


def whole_recordings() -> list[str]:
    """The whole-recording frequency indices (as ``analyze --json``: beats after the artifact
    policy), nfft = None (version 2) against 1200 (version 3), on every plain RR file of the shared
    data, whole and cut to their first 60, 120 and 240 s."""
    from biofeedback.hrv.frequency_domain import frequency_domain
    from biofeedback.hrv.policy import apply_policy

    data = HOLTER.parent.parent
    files = sorted((data / "one-hour").glob("*_rr_ms.txt")) + sorted((data / "holter").glob("*_ms.txt"))
    keys = ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf")
    worst: dict[str, float] = {}
    lines = []
    for path in files:
        rr = np.loadtxt(path)
        t = np.cumsum(rr) / 1000.0
        for cut in (None, 60.0, 120.0, 240.0):
            m = slice(None) if cut is None else slice(0, int(np.searchsorted(t, cut, side="right")))
            pb = apply_policy(rr[m], t[m], None)
            a = frequency_domain(pb.t_s, pb.rr_ms, pb.valid)
            b = frequency_domain(pb.t_s, pb.rr_ms, pb.valid, nfft=1200)
            rel = max(abs(getattr(b, k) / getattr(a, k) - 1.0) for k in keys)
            label = "whole" if cut is None else f"first {cut:g} s"
            worst[label] = max(worst.get(label, 0.0), rel)
    for label, rel in worst.items():
        lines.append(f"  {label:12s} largest relative difference of VLF, LF, HF, LF/HF over {len(files)} files: {rel:.2e}")
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
    print("Coherence (64 s window, 257 samples): 2048 and the next lengths with a step <= 1/512 Hz at 4 Hz:")
    print("\n".join(fft_lengths(2 if quick else 8, 257, (2048, 2160, 2304, 2400, 2560))))
    print("HRVEngine.push per beat (defaults; 21 h Holter file, 2000 beats after 300 to fill the windows;")
    print("  blocks of 50 beats, best of 3 engines per block):")
    print("\n".join(per_beat(beats, 300, 500 if quick else 2000, 3)))
    print("The Welch spectrum of the 120 s window and its indices alone (lockstep blocks, best of 3):")
    print("\n".join(spectrum_alone(rr[:3000] if quick else rr)))
    print("Band integrals against the same periodogram 16x finer (relative error, 120 s windows every 40th beat):")
    print("\n".join(band_accuracy(rr[:3000] if quick else rr)))
    print("Whole recordings and their first minutes (analyze --json's frequency indices), version 2 against 3:")
    print("\n".join(whole_recordings()))
    print("Indices, version 2 against version 3:")
    print("\n".join(index_differences(beats)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

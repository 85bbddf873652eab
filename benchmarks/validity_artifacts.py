"""Validity figures of the artifact detector and the signal-quality rules (``validity.py`` runs these
sections with its own; this file also runs alone).

Usage (from the project root, in the project's virtualenv)::

    python benchmarks/validity_artifacts.py            # both sections
    python benchmarks/validity_artifacts.py detector   # one section

Sections are plain functions ``section_<name>(data: Path) -> None`` that print their figures; the
data are the public reference recordings in ``../shared/data`` (``--data`` to point elsewhere).
Sections here: ``detector`` (docs/artifacts.md, "Validation") and ``quality`` (docs/artifacts.md,
"Artifact policy" and "Signal quality").
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data"


# --- detector ---------------------------------------------------------------------------------------


def labelled_records(data: Path) -> list[Path]:
    """Every labelled beat record (``*_beats*.csv[.gz]`` with a ``symbol`` column) under ``data``."""
    return sorted(p for sub in ("holter", "labelled") for p in (data / sub).glob("*_beats*.csv*"))


def read_labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(symbols, rr_ms)`` of the beats after the first (which has no interval)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        rows = list(csv.DictReader(f))
    return (np.array([r["symbol"] for r in rows[1:]]),
            np.array([float(r["rr_ms_from_prev_beat"]) for r in rows[1:]]))


def section_detector(data: Path) -> None:
    """Isolated premature beats found and false labels on N beats inside all-N stretches, per record
    and pooled, offline and causal, for the version-2 detector and the version-1 one (no relative floor)."""
    from biofeedback.hrv.artifacts import ArtifactSettings, detect_artifacts
    from biofeedback.hrv.artifacts.scoring import DetectionRates, detection_rates

    variants = {"v2 (floor 9 %, neighbour line 3)": ArtifactSettings(),
                "v1 (paper + 40 ms floor, 20 % cap)": ArtifactSettings(min_threshold_frac=0.0, neighbour_line=0.0)}
    print("detector: isolated premature beats (V/A/S between two N) excluded; false labels on N beats in all-N stretches")
    print(f"{'settings':30s} {'mode':8s} {'record':22s} {'premature found':>18s} {'false labels':>20s}")
    for name, st in variants.items():
        for mode in ("offline", "causal"):
            pooled = DetectionRates(0, 0, 0, 0)
            for path in labelled_records(data):
                sym, rr = read_labelled(path)
                res = detect_artifacts(rr, settings=st, mode=mode)
                r = detection_rates(sym, res.labels, res.valid)
                pooled = pooled + r
                print(f"{name:30s} {mode:8s} {path.name.split('_beats')[0]:22s} "
                      f"{r.premature_found:>4d}/{r.premature:<4d} {r.sensitivity_pct:6.1f} % "
                      f"{r.false_labels:>5d}/{r.normal_inside:<7d} {r.false_label_pct:5.2f} %")
            print(f"{name:30s} {mode:8s} {'pooled':22s} {pooled.premature_found:>4d}/{pooled.premature:<4d} "
                  f"{pooled.sensitivity_pct:6.1f} % {pooled.false_labels:>5d}/{pooled.normal_inside:<7d} "
                  f"{pooled.false_label_pct:5.2f} %")
    # the barely premature V beats that RR cannot reveal
    from scipy.ndimage import median_filter

    for path in labelled_records(data):
        sym, rr = read_labelled(path)
        med = median_filter(rr, 11, mode="nearest")
        is_n = sym == "N"
        iso = np.zeros(sym.size, dtype=bool)
        iso[1:-1] = (sym[1:-1] == "V") & is_n[:-2] & is_n[2:]
        ratio = rr[iso] / med[iso]
        near = ratio[(ratio > 0.95)]
        if near.size:
            print(f"{path.name.split('_beats')[0]}: {near.size} isolated V beats with RR >= 0.95 x the local median "
                  f"({', '.join(f'{x:.2f}' for x in sorted(near))})")


# --- quality ----------------------------------------------------------------------------------------


def section_quality(data: Path) -> None:
    """The artifact policies and the quality verdicts on the two real Polar H10 recordings."""
    from biofeedback.hrv.notes import spectral_notes
    from biofeedback.hrv.policy import apply_policy
    from biofeedback.hrv.summary import summarize_stretch
    from sessions.importers import read_recording

    files = {"polar_h10_pvc_rr.csv": {}, "polar_h10_breathing_ibi.csv": {"column": "2"}}
    for name, options in files.items():
        rec = read_recording(data / "real-strap" / name, **options)
        for correction in ("exclude", "interpolate", "none"):
            pol = apply_policy(rec.rr_ms, rec.beat_times_s(), correction=correction)
            s = summarize_stretch(pol)
            q = pol.quality()
            print(f"{name:28s} {correction:11s} RMSSD {s.rmssd_ms:7.1f} ms  HF {s.hf_ms2:8.0f} ms2  "
                  f"LF/HF {s.lf_hf:7.1f}  LFnu {s.lf_nu:5.1f}  coherence {s.coherence:5.2f}  "
                  f"quality {q.verdict} ({q.valid_pct:.1f} % valid, {q.artifacts_pct:.1f} % labelled, "
                  f"bridge {q.longest_bridge_s:.1f} s)")
        if spectral_notes(s.lf_nu, s.lf_peak_hz):
            print(f"{name:28s} slow-breathing note given (LF peak {s.lf_peak_hz:.3f} Hz)")

    print("one-hour series (clean recordings): RMSSD with artifacts excluded vs the raw series and vs the raw "
          "series without its clear premature beats (ref: RR < 0.8 x mean of both neighbours, and the next interval)")
    from biofeedback.hrv.artifacts import ArtifactSettings
    from biofeedback.hrv.artifacts.scoring import clear_premature_valid
    from biofeedback.hrv.successive import successive_differences_ms

    for path in sorted((data / "one-hour").glob("pyhrv_series_*_rr_ms.txt")):
        rr = np.loadtxt(path)
        raw = summarize_stretch(apply_policy(rr, correction="none")).rmssd_ms
        d = successive_differences_ms(rr, clear_premature_valid(rr))
        ref = float(np.sqrt(np.mean(d * d)))
        cells = [f"ref {ref:6.1f} ms ({100 * (ref / raw - 1):+5.1f} %)"]
        for label, st in (("v2", ArtifactSettings()),
                          ("v1", ArtifactSettings(min_threshold_frac=0.0, neighbour_line=0.0))):
            pol = apply_policy(rr, settings=st)
            ex = summarize_stretch(pol).rmssd_ms
            cells.append(f"{label}: {ex:6.1f} ms ({100 * (ex / raw - 1):+5.1f} %, vs ref {100 * (ex / ref - 1):+5.1f} %, "
                         f"{pol.artifacts_pct:4.1f} % labelled, "
                         f"{pol.quality().verdict})")
        print(f"{path.name:26s} raw {raw:6.1f} ms  " + "  ".join(cells))


SECTIONS: dict[str, Callable[[Path], None]] = {"detector": section_detector, "quality": section_quality}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sections", nargs="*", metavar="SECTION", help=f"some of: {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared reference data folder")
    args = p.parse_args(argv)
    for name in args.sections or list(SECTIONS):
        if name not in SECTIONS:
            p.error(f"unknown section {name!r} (known: {', '.join(SECTIONS)})")
        print(f"== {name}")
        SECTIONS[name](args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time NeuroKit2 and hrv-analysis on the windows written by ``bench_engine.py``.

Runs INSIDE ``benchmarks/.venv-comparators`` (numpy < 2.4: hrv-analysis still calls
``np.trapz``), never in the project's environment. Reads an ``.npz`` with the windows, prints one
JSON object with the seconds each library took per window (best of ``repeats`` runs): hrv-analysis,
NeuroKit2 with its defaults (``neurokit2``) or, with ``--nk-rate4``, NeuroKit2 resampling as Kubios
does (``neurokit2_rate4``: ``interpolation_rate=4, normalize=False``; the per-beat section's
comparison, which needs no default NeuroKit2 run). Usage (done by ``run.py``)::

    benchmarks/.venv-comparators/bin/python benchmarks/comparators.py WINDOWS.npz [REPEATS] [--nk-rate4]
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def main(path: str, repeats: int = 3, nk_rate4: bool = False) -> None:
    warnings.simplefilter("ignore")
    import numpy as np
    import neurokit2 as nk
    from hrvanalysis import get_frequency_domain_features, get_time_domain_features

    data = np.load(path)
    n = int(data["n"])
    nk_key = "neurokit2_rate4" if nk_rate4 else "neurokit2"
    nk_options = {"interpolation_rate": 4, "normalize": False} if nk_rate4 else {}
    out: dict[str, list[float]] = {"hrv_analysis": [], nk_key: []}
    check: dict[str, list[float]] = {"hrv_analysis_rmssd": [], "neurokit2_rmssd": []}
    for k in range(-1, n):  # k = -1: warm-up on the first window, not timed
        i = max(k, 0)
        rr_t = data[f"time_rr_{i}"]
        rr_f = data[f"freq_rr_{i}"]
        # NeuroKit2 wants R-peak positions: samples at 1000 Hz
        peaks_t = np.concatenate([[0], np.round(np.cumsum(rr_t)).astype(np.int64)])
        peaks_f = np.concatenate([[0], np.round(np.cumsum(rr_f)).astype(np.int64)])
        best_ha = best_nk = float("inf")
        for _ in range(repeats):
            # hrv-analysis: lists of NN intervals in ms (its defaults: Welch, 4 Hz, linear)
            t0 = time.perf_counter()
            td = get_time_domain_features(rr_t.tolist())
            get_frequency_domain_features(rr_f.tolist())
            t1 = time.perf_counter()
            nt = nk.hrv_time(peaks_t, sampling_rate=1000)
            nk.hrv_frequency(peaks_f, sampling_rate=1000, **nk_options)
            t2 = time.perf_counter()
            best_ha, best_nk = min(best_ha, t1 - t0), min(best_nk, t2 - t1)
        if k >= 0:
            out["hrv_analysis"].append(best_ha)
            out[nk_key].append(best_nk)
            check["hrv_analysis_rmssd"].append(float(td["rmssd"]))
            check["neurokit2_rmssd"].append(float(nt["HRV_RMSSD"].iloc[0]))
    versions = {"numpy": np.__version__, "neurokit2": nk.__version__}
    try:
        from importlib.metadata import version

        versions["hrv-analysis"] = version("hrv-analysis")
    except Exception:  # noqa: BLE001 - informational only
        pass
    print(json.dumps({"seconds": out, "check": check, "versions": versions}))


if __name__ == "__main__":
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(positional[0], int(positional[1]) if len(positional) > 1 else 3, "--nk-rate4" in sys.argv[1:])

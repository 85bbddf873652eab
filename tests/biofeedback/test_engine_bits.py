"""The engine's per-beat JSON lines, bit for bit, against digests computed before issue 13's per-beat
speed-up (branch engfast, computed on main 4e685ba): settings versions 1 and 2 are frozen recipes, so
faster code must write the same bytes. One real recording (21 h Holter file, 2 600 beats with
labelled beats, a 7.5 s gap, a baseline and quality nulls) under versions 1 and 2, and short runs
through the other paths of the engine (no detection + Lomb, smoothness priors + several Welch
segments, version 1 with several segments). Version 3's digest was taken when version 3 was made,
so later speed-ups keep its bits too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from biofeedback.beat import Beat, Gap
from biofeedback.engine import EngineSettings, HRVEngine

HOLTER = Path("holter") / "rr_healthy_subjects_000_ms.txt"


def _items(rr_all: np.ndarray, lo: int, n: int, gap_at: int) -> list[Beat | Gap]:
    rr = rr_all[lo:lo + n]
    t = np.cumsum(rr) / 1000.0
    out: list[Beat | Gap] = []
    shift = 0.0
    for i in range(n):
        if i == gap_at:
            out.append(Gap(float(t[i - 1] + shift), float(t[i - 1] + shift + 7.5), "contact_lost"))
            shift += 7.5
        out.append(Beat(rr_ms=float(rr[i]), t_s=float(t[i] + shift)))
    return out


def _digest(settings: EngineSettings, items: list[Beat | Gap], baseline_at: int,
            restore_at: tuple[int, ...] = ()) -> tuple[int, str]:
    """sha256 of every per-beat JSON line (``to_json_line``: orjson's shortest round-trip floats, so
    equal digests mean equal bits), with ``end_baseline`` after item ``baseline_at``; after each item
    of ``restore_at`` the engine's snapshot (its JSON, hashed too) restored into a new engine."""
    eng = HRVEngine(settings)
    h = hashlib.sha256()
    n = 0
    for i, it in enumerate(items):
        for b in eng.push(it):
            h.update(b.to_json_line())
            n += 1
        if i == baseline_at:
            try:
                eng.end_baseline()
            except ValueError:
                pass
        if i in restore_at:
            snap = json.dumps(eng.snapshot())
            h.update(snap.encode())
            eng = HRVEngine.restore(json.loads(snap))
    for b in eng.flush():
        h.update(b.to_json_line())
        n += 1
    return n, h.hexdigest()


# (settings, first beat, beats, gap before item, baseline after item) -> (lines, sha256)
CASES = {
    "v1": ({"version": 1}, 30000, 2600, 1300, 400,
           (2600, "c0c40b2be4c18b057ba994b7e82ccfdda73d4d54608c0a260911742305d89430")),
    "v2": ({"version": 2}, 30000, 2600, 1300, 400,
           (2600, "a089e1d7215a0bd0315df32eef94c0e1e7c9ba0faaff6e7147f7e93a0763fb4d")),
    # version 3 (fixed 1/300 Hz Welch grid), computed when it was introduced (merge of nfft3 and engfast)
    "v3": ({"version": 3}, 30000, 2600, 1300, 400,
           (2600, "3e2b490826466139556a717ad68578962ad38fdb2f2e2e86b34b1b7112aa607b")),
    # the default spectra without the detector (computed on main 1ed4299, before the compiled per-beat step)
    "v3_nodetect": ({"version": 3, "artifact_detection": False}, 30000, 2600, 1300, 400,
                    (2600, "d4c3676e49f85cc0283ea2f40e89272d86a4647e4ecac2317e2f271b03962063")),
    "v2_nodetect_lomb": ({"version": 2, "artifact_detection": False, "method": "lomb"}, 50000, 500, 250, 200,
                         (500, "489877590327558a681238e67a19f2d76c5f54b7b70bfa702370e9a7a83b7b90")),
    "v2_sp_multiseg": ({"version": 2, "detrend": "smoothness_priors", "segment_s": 60.0,
                        "time_window_s": 30.0},
                       50000, 500, 250, 200,
                       (500, "bf863437c1ea1a175f42fe6174c406778acba468e091e630e326dcde177bd954")),
    "v1_multiseg": ({"version": 1, "segment_s": 60.0, "frequency_window_s": 150.0}, 50000, 500, 250, 200,
                    (500, "ebc55ae6e2e5940adc3a971a4a24e5678d57d532832295b6f235184f799c5919")),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("case", sorted(CASES))
def test_per_beat_json_lines_are_those_of_the_engine_before_the_speed_up(shared_data: Path, case: str) -> None:
    settings, lo, n, gap_at, baseline_at, expected = CASES[case]
    rr_all = np.loadtxt(shared_data / HOLTER, max_rows=lo + n)
    s = EngineSettings.from_dict(settings)
    assert _digest(s, _items(rr_all, lo, n, gap_at), baseline_at) == expected


# snapshots (with beats pending for the detector's look-ahead, after the gap, after the baseline) restored
# mid-run: the lines and the snapshots' JSON as on main 1ed4299, before the compiled per-beat step
RESTORE_CASES = {
    "v3": ({"version": 3}, "5071db0d17b0107ca076155c471264d33041670ebdaac48a93c207b2b6be99fb"),
    "v2": ({"version": 2}, "beced857cad011941b0c6472528d4f304a1267cdbb34ea5de5087ed12fd4c5ed"),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("case", sorted(RESTORE_CASES))
def test_snapshots_and_lines_across_restores_are_those_before_the_speed_up(shared_data: Path, case: str) -> None:
    settings, expected = RESTORE_CASES[case]
    rr_all = np.loadtxt(shared_data / HOLTER, max_rows=32600)
    items = _items(rr_all, 30000, 2600, 1300)
    got = _digest(EngineSettings.from_dict(settings), items, 400, restore_at=(150, 401, 1300, 1301, 2100))
    assert got == (2600, expected)

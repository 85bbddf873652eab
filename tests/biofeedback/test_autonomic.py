"""PNS and SNS indices (Kubios-like approximations against published resting norms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.hrv.autonomic import NORMS, pns_index, sns_index, z_score
from biofeedback.hrv.time_domain import time_domain


def test_norms_are_the_cited_values() -> None:
    # Nunan et al. 2010 (doi:10.1111/j.1540-8159.2010.02841.x): RR 926 ± 90, RMSSD 42 ± 15, SDNN 50 ± 16
    assert (NORMS["mean_rr_ms"].mean, NORMS["mean_rr_ms"].sd) == (926.0, 90.0)
    assert (NORMS["rmssd_ms"].mean, NORMS["rmssd_ms"].sd) == (42.0, 15.0)
    # derived: SD1 = RMSSD/√2; HR = 60000/926 with the delta-method SD 60000·90/926²
    assert NORMS["sd1_ms"].mean == pytest.approx(29.698, abs=1e-3)
    assert NORMS["mean_hr_bpm"].mean == pytest.approx(64.795, abs=1e-3)
    assert NORMS["mean_hr_bpm"].sd == pytest.approx(6.2975, abs=1e-3)
    # SD2 = sqrt(2·50² − 29.7²) = sqrt(4118) = 64.17; SD = (2·50/64.17)·16 = 24.93
    assert NORMS["sd2_ms"].mean == pytest.approx(math.sqrt(4118.0))
    assert NORMS["sd2_ms"].sd == pytest.approx(100.0 / math.sqrt(4118.0) * 16.0)
    # sqrt of Baevsky's 50-150 taken as mean ± 2 SD
    assert (NORMS["stress_index"].mean, NORMS["stress_index"].sd) == (10.0, 2.5)
    assert all(n.source for n in NORMS.values())


def test_hand_computed_indices() -> None:
    assert z_score(1016.0, NORMS["mean_rr_ms"]) == pytest.approx(1.0)
    # mean RR +1 SD (1016), RMSSD +2 SD (72), SD1 at the norm: (1 + 2 + 0)/3 = 1
    assert pns_index(1016.0, 72.0, NORMS["sd1_ms"].mean) == pytest.approx(1.0)
    # HR +1 SD, SI +2 SD (15), SD2 one SD *below* the norm (more sympathetic): (1 + 2 + 1)/3
    sd2 = NORMS["sd2_ms"].mean - NORMS["sd2_ms"].sd
    hr = NORMS["mean_hr_bpm"].mean + NORMS["mean_hr_bpm"].sd
    assert sns_index(hr, 15.0, sd2) == pytest.approx(4 / 3)
    assert math.isnan(pns_index(float("nan"), 40.0, 30.0))
    assert math.isnan(sns_index(70.0, float("nan"), 60.0))


def test_directions_follow_physiology() -> None:
    """Slower, more variable heart: PNS up, SNS down; faster, rigid heart: the opposite."""
    k = np.arange(60)
    # slow breathing-like swings of ±80 ms plus beat-to-beat alternation of ±25 ms around 1000 ms
    relaxed = time_domain(1000.0 + 80.0 * np.sin(2 * np.pi * k / 10) + 25.0 * (-1.0) ** k)
    stressed = time_domain(645.0 + 3.0 * np.sin(2 * np.pi * k / 10) + 1.0 * (-1.0) ** k)
    pns_r = pns_index(relaxed.mean_rr_ms, relaxed.rmssd_ms, relaxed.sd1_ms)
    pns_s = pns_index(stressed.mean_rr_ms, stressed.rmssd_ms, stressed.sd1_ms)
    sns_r = sns_index(relaxed.mean_hr_bpm, relaxed.stress_index, relaxed.sd2_ms)
    sns_s = sns_index(stressed.mean_hr_bpm, stressed.stress_index, stressed.sd2_ms)
    assert pns_r > 0 > pns_s
    assert sns_s > 0 > sns_r


def test_compiled_indices_sum_the_z_scores_left_to_right_bit_for_bit() -> None:
    # the one compiled formula (engine and callers): (((0 + z1) + z2) ± z3) / 3, the bits of the Python
    # sum() of three floats it replaced (per-beat JSON lines of stored sessions must not move)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 2000.0, (500, 3))
    x[::50, 1] = float("nan")
    x[1, :] = (NORMS["mean_rr_ms"].mean, NORMS["rmssd_ms"].mean, NORMS["sd1_ms"].mean)  # z = 0 exactly
    for a, b, c in x.tolist():
        pns = (((0.0 + z_score(a, NORMS["mean_rr_ms"])) + z_score(b, NORMS["rmssd_ms"])) + z_score(c, NORMS["sd1_ms"])) / 3
        sns = (((0.0 + z_score(a, NORMS["mean_hr_bpm"])) + z_score(b, NORMS["stress_index"]))
               + -z_score(c, NORMS["sd2_ms"])) / 3
        got_p, got_s = pns_index(a, b, c), sns_index(a, b, c)
        assert (got_p.hex(), got_s.hex()) == (pns.hex(), sns.hex()) or (math.isnan(pns) and math.isnan(got_p)
                                                                          and math.isnan(sns) and math.isnan(got_s))
    assert math.copysign(1.0, pns_index(*x[1])) == 1.0  # 0.0 + (-0.0) is +0.0, as Python's sum

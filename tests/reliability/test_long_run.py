"""A 24-hour simulated session at full speed through the streaming engine: memory stays flat and
the indices still equal the batch functions on sampled windows at the end of the day."""

from __future__ import annotations

import math
import os
from collections import deque

import numpy as np

from biofeedback.beat import Beat, Gap
from biofeedback.engine import EngineSettings, HRVEngine
from biofeedback.hrv.coherence import coherence
from biofeedback.hrv.frequency_domain import frequency_domain
from biofeedback.hrv.time_domain import time_domain
from devices.simulator import RRSimulator

HOURS = 24
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _close(a: float, b: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def test_a_day_at_full_speed_keeps_memory_flat_and_matches_batch():
    settings = EngineSettings()
    engine = HRVEngine(settings)
    # A day of a person at rest with a few artifacts and contact losses (gaps).
    sim = RRSimulator(24, "rest", ectopic_rate=0.002, missed_rate=0.001, contact_loss_per_hour=2)
    keep_s = settings.longest_window_s + 5
    window: deque[tuple[float, float, bool, bool]] = deque()  # t, rr, valid, break of settled beats
    rss_at_hour: dict[int, int] = {}
    sizes: set[tuple[int, int]] = set()
    checked = 0
    last_t = 0.0
    in_contact = True
    n_beats = 0
    hour = 0

    def check(out):
        nonlocal checked
        for o in out:
            window.append((o.t_s, o.rr_ms, o.valid, o.gap_before))
            while window and window[0][0] < o.t_s - keep_s:
                window.popleft()
            if o.index % 997 != 0 or o.t_s < 3 * 3600:
                continue
            if o.quality is not None and not o.quality.signal_ok:
                # a window below the quality thresholds is null by design (tests/biofeedback/test_engine.py
                # applies the same rule to the batch side); the kernels are compared on the others
                continue
            t = np.array([w[0] for w in window])
            rr = np.array([w[1] for w in window])
            valid = np.array([w[2] for w in window])
            brk = np.array([w[3] for w in window])
            m = t > o.t_s - settings.time_window_s
            td = time_domain(rr[m], valid[m], brk[m], si_bin_ms=settings.si_bin_ms)
            m = t > o.t_s - settings.frequency_window_s
            fd = frequency_domain(t[m], rr[m], valid[m], nfft=settings.welch_nfft)
            m = t > o.t_s - settings.coherence_window_s
            coh = coherence(t[m], rr[m], valid[m], window_s=settings.coherence_window_s)
            for name, value in (("rmssd_ms", td.rmssd_ms), ("sdnn_ms", td.sdnn_ms), ("sd2_ms", td.sd2_ms),
                                ("stress_index", td.stress_index), ("lf_ms2", fd.lf_ms2), ("hf_ms2", fd.hf_ms2),
                                ("lf_hf", fd.lf_hf), ("coherence", coh.ratio)):
                assert _close(getattr(o, name), value), (o.index, name, getattr(o, name), value)
            checked += 1

    while last_t < HOURS * 3600:
        b = sim.next_beat()
        if not b.contact:
            in_contact = False
            continue
        if not in_contact:
            in_contact = True
            check(engine.push(Gap(start_s=last_t, end_s=b.t_s - b.rr_ms / 1000, reason="contact_lost")))
        check(engine.push(Beat(rr_ms=b.rr_ms, t_s=b.t_s)))
        last_t = b.t_s
        n_beats += 1
        if int(last_t // 3600) > hour:
            hour = int(last_t // 3600)
            rss_at_hour[hour] = _rss_bytes()
            sizes.add((engine.buffer_sizes()["ring_capacity"], engine.buffer_sizes()["pending"]))
    check(engine.flush())

    assert n_beats > HOURS * 3600 * 0.9
    assert checked >= 50
    # Internal buffers stay the size of the longest window, whatever the session length.
    assert max(cap for cap, _ in sizes) <= 1024 and max(p for _, p in sizes) <= 3
    # Resident memory from hour 2 to hour 24 grows by less than 4 MiB (allocator noise), not with beats.
    growth = rss_at_hour[HOURS] - rss_at_hour[2]
    print(f"RSS hour 2: {rss_at_hour[2] / 2**20:.1f} MiB, hour {HOURS}: {rss_at_hour[HOURS] / 2**20:.1f} MiB")
    assert growth < 4 * 2**20, f"memory grew by {growth / 2**20:.1f} MiB over {HOURS - 2} h"

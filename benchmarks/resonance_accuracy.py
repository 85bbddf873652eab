"""Accuracy of the resonance-frequency assessment on the simulator (the figures in docs/resonance.md).

For simulated persons resonating at known rates (devices.simulator.RRSimulator with ``resonance_bpm``,
profile "rest", the person following the pacer exactly, no relaxation drift), the stepped and sliding
assessments are run on the pure core over several seeds, and the error of the rate found is summarised;
then persons with strong beat noise or many ectopic beats, who should be asked to repeat.

    python benchmarks/resonance_accuracy.py            # 10 seeds (about a minute)
    python benchmarks/resonance_accuracy.py --seeds 3  # quicker
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biofeedback.practices.assessment import ASSESSMENT_REST_S, assessment_schedule  # noqa: E402
from biofeedback.resonance import AssessmentResult, assess  # noqa: E402
from devices.simulator import RRSimulator  # noqa: E402

STEPPED_PERSONS = (4.5, 5.0, 5.5, 6.0, 6.5)
SLIDING_PERSONS = (4.5, 4.8, 5.0, 5.2, 5.5, 5.8, 6.0, 6.2, 6.5)
TOLERANCE = {"stepped": 0.25, "sliding": 0.35}


def run(protocol: str, resonance_bpm: float, seed: int, **person: float) -> AssessmentResult:
    schedule = assessment_schedule(protocol)
    p0 = ASSESSMENT_REST_S

    def phase(t_s: float) -> float:
        return (t_s * 14 / 60) % 1.0 if t_s < p0 else schedule.phase_at(t_s - p0)

    sim = RRSimulator(seed, "rest", breathing=phase, resonance_bpm=resonance_bpm, quantise_ticks=True, **person)  # type: ignore[arg-type]
    beats = sim.beats_until(p0 + schedule.duration_s)
    return assess(schedule, np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats]), pacer_start_s=p0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    seeds = range(1, parser.parse_args().seeds + 1)
    print("| protocol | persons (breaths/min) | runs | within tolerance | repeat | max abs error | RMS error | mean error |")
    print("|---|---|---|---|---|---|---|---|")
    for protocol, persons in (("stepped", STEPPED_PERSONS), ("sliding", SLIDING_PERSONS)):
        errors, repeats = [], 0
        for rf in persons:
            for seed in seeds:
                r = run(protocol, rf, seed)
                if r.status != "ok" or r.resonance_rate_bpm is None:
                    repeats += 1
                    continue
                errors.append(r.resonance_rate_bpm - rf)
        e = np.array(errors)
        n = len(persons) * len(seeds)
        within = int(np.sum(np.abs(e) <= TOLERANCE[protocol] + 1e-9))
        print(f"| {protocol} | {', '.join(f'{p:g}' for p in persons)} | {n} | {within} (±{TOLERANCE[protocol]:g}) | "
              f"{repeats} | {np.max(np.abs(e)):.2f} | {math.sqrt(float(np.mean(e ** 2))):.2f} | {float(np.mean(e)):+.2f} |")
    print()
    print("| protocol | poor signal | runs | repeat | named a rate |")
    print("|---|---|---|---|---|")
    for protocol in ("stepped", "sliding"):
        for label, person in (("beat noise x6 (60 ms SD)", {"noise_scale": 6.0}),
                              ("beat noise x8 (80 ms SD)", {"noise_scale": 8.0}),
                              ("8 % ectopic + 2 % missed beats", {"ectopic_rate": 0.08, "missed_rate": 0.02})):
            results = [run(protocol, 5.5, seed, **person) for seed in seeds]
            n_repeat = sum(r.status == "repeat" for r in results)
            named = [f"{r.resonance_rate_bpm:g}" for r in results if r.status == "ok"]
            print(f"| {protocol} | {label} | {len(results)} | {n_repeat} | {', '.join(named) or '-'} |")


if __name__ == "__main__":
    main()

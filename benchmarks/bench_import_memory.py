"""Peak memory of reading an RR file, per byte of file (the figure behind the 16 MiB read cap).

``python benchmarks/bench_import_memory.py [N_BEATS]`` writes a plain RR file of N_BEATS lines
(default 1 000 000, ``"800\\n"``-like, the densest format: most beats per byte) and a Polar Sensor
Logger file of the same beats, reads each with :func:`sessions.importers.read_recording` in a fresh
process, and prints the resident-memory peak (``VmHWM``) above the process's level before reading,
in bytes per byte of file.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import sys
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
import numpy, sessions.importers as imp
before = hwm()
imp.read_recording(sys.argv[1], None)
print(hwm() - before)
"""


def measure(path: Path) -> float:
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True,
                         cwd=root, env={"PYTHONPATH": str(root)})
    return int(out.stdout.strip()) / path.stat().st_size


def main(n_beats: int = 1_000_000) -> None:
    rng = random.Random(1)
    rr = [rng.randint(700, 1100) for _ in range(n_beats)]
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "rr.txt"
        plain.write_text("".join(f"{v}\n" for v in rr))
        polar = Path(tmp) / "x_RR.txt"
        polar.write_text("Phone timestamp;RR-interval [ms]\n"
                         + "".join(f"2026-04-24T14:10:{i % 60:02d}.752;{v}\n" for i, v in enumerate(rr)))
        for name, path in (("plain", plain), ("polar-sensor-logger", polar)):
            print(f"{name:20s} {path.stat().st_size / 2**20:8.1f} MiB  {measure(path):6.1f} bytes of memory per byte")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

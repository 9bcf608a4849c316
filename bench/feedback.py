"""Feedback simulation speed, before (0.1's Python loop, kept in ``bench/feedback_before.py``)
and after (the Rust simulator behind ``pw.audit.feedback``), in one process: Chicago 150 m grid,
KDE (binned, 600 m) retrained every round, top-k allocation of 60 units, with the population
(target: 100 rounds × 50 replicates under 20 s on 2 cores); and ensign_urn 200 runs × 1000
draws (target under 1 s). The machine's load average is printed: on a shared machine the
figures are only comparable within one run.

Run: .venv/bin/python bench/feedback.py [--rounds R] [--replicates K] [--before-replicates K0]
(``--before-replicates 0`` skips the old simulator).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import placewise as pw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import feedback_before  # noqa: E402


def _load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--replicates", type=int, default=50)
    ap.add_argument("--before-replicates", type=int, default=None,
                    help="replicates for the old simulator (default: --replicates; 0 skips it)")
    a = ap.parse_args()
    city = pw.datasets.load_chicago(cell_size=150)
    truth = pw.KDE(bandwidth=600, mode="binned").fit(city.incidents, city.grid).predict()
    common = dict(grid=city.grid, truth=truth, budget=60, rounds=a.rounds, incidents_per_round=300.0,
                  population=city.population, seed=0)
    print(f"cores: {os.cpu_count()}, load average before: {_load()}")
    t0, c0 = time.perf_counter(), time.process_time()
    r = pw.audit.feedback(replicates=a.replicates, **common)
    after, after_cpu = time.perf_counter() - t0, time.process_time() - c0
    fits = a.rounds * a.replicates
    print(f"after  (Rust): {a.rounds} rounds × {a.replicates} replicates on {city.grid.n_active:,} cells: {after:.1f} s "
          f"wall, {after_cpu:.1f} s CPU ({1000 * after / fits:.2f} ms wall, {1000 * after_cpu / fits:.2f} ms CPU per round); {r}")
    k0 = a.replicates if a.before_replicates is None else a.before_replicates
    if k0 > 0:
        t0, c0 = time.perf_counter(), time.process_time()
        b = feedback_before.feedback(replicates=k0, **common)
        before, before_cpu = time.perf_counter() - t0, time.process_time() - c0
        per_before, per_before_cpu = before / (a.rounds * k0), before_cpu / (a.rounds * k0)
        print(f"before (0.1 Python loop): {a.rounds} rounds × {k0} replicates: {before:.1f} s wall, {before_cpu:.1f} s CPU "
              f"({1000 * per_before:.2f} ms wall, {1000 * per_before_cpu:.2f} ms CPU per round); {b}")
        print(f"speed-up per round: {per_before / (after / fits):.1f}× wall, {per_before_cpu / (after_cpu / fits):.1f}× CPU")
    print(f"load average after: {_load()}")
    t0 = time.perf_counter()
    u = pw.audit.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=200, seed=0)
    print(f"ensign_urn 200 runs × 1000 draws: {time.perf_counter() - t0:.3f} s; {u.summary()['verdict']}")


if __name__ == "__main__":
    main()

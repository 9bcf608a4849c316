"""Feedback simulation speed: Chicago 150 m grid, 100 rounds × 50 replicates, KDE retrained
each round, top-k allocation (target under 60 s on 2 cores); and ensign_urn 200 runs × 1000
draws (target under 1 s).

Run: .venv/bin/python bench/feedback.py [--rounds R] [--replicates K]
"""

from __future__ import annotations

import argparse
import time

import placewise as pw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--replicates", type=int, default=50)
    a = ap.parse_args()
    city = pw.datasets.load_chicago(cell_size=150)
    truth = pw.KDE(bandwidth=600, mode="binned").fit(city.incidents, city.grid).predict()
    t0 = time.perf_counter()
    r = pw.audit.feedback(grid=city.grid, truth=truth, budget=60, rounds=a.rounds, replicates=a.replicates,
                          incidents_per_round=300.0, population=city.population, seed=0)
    dt = time.perf_counter() - t0
    fits = a.rounds * a.replicates
    print(f"feedback: {a.rounds} rounds × {a.replicates} replicates on {city.grid.n_active:,} cells: {dt:.1f} s "
          f"({1000 * dt / fits:.1f} ms per round); {r}")
    t0 = time.perf_counter()
    u = pw.audit.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=200, seed=0)
    print(f"ensign_urn 200 runs × 1000 draws: {time.perf_counter() - t0:.3f} s; {u.summary()['verdict']}")


if __name__ == "__main__":
    main()

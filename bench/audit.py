"""Audit building blocks against peers, in one process, on the bundled Chicago sample.

Peers: fairlearn's MetricFrame (group selection rates on the people-level expansion of a
binary allocation), a vectorised numpy bootstrap over cells (the same statistic), pysal's
`inequality` Gini plus a numpy multinomial baseline, and a plain numpy implementation of the
Ensign urn. Prints each time and the ratio peer / placewise (> 1: placewise is faster).

    .venv/bin/python bench/audit.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import placewise as pw


def timed(f, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def row(name, ours, peer, peer_name):
    print(f"{name:<46} placewise {ours:8.3f} s   {peer_name:<26} {peer:8.3f} s   ratio {peer / ours:7.1f}x")


def main(quick: bool) -> None:
    city = pw.datasets.load_chicago(cell_size=150)
    g, pop = city.grid, city.population
    counts = g.counts(city.incidents).ravel()
    dose = np.zeros(g.n_cells)
    dose[np.argsort(-counts, kind="stable")[:40]] = 1.0
    B = 200 if quick else 1000
    print(f"Chicago 150 m grid: {g.n_cells:,} cells ({g.n_active:,} active), {len(pop.groups)} groups; "
          f"bootstrap {B} resamples; top-40 allocation")

    # 1. Group rates: fairlearn MetricFrame on people vs placewise on cells (no bootstrap).
    from fairlearn.metrics import MetricFrame, selection_rate

    people = np.round(pop.counts).astype(np.int64)
    cell_idx = np.repeat(np.tile(np.arange(g.n_cells), len(pop.groups)), people.T.ravel())
    grp = np.repeat(np.repeat(np.array(pop.groups), g.n_cells), people.T.ravel())
    y = dose[cell_idx]
    t_fl, mf = timed(lambda: MetricFrame(metrics=selection_rate, y_true=np.zeros_like(y), y_pred=y,
                                         sensitive_features=grp), repeat=1)
    t_pw, a = timed(lambda: pw.audit.disparity(dose, pop, bootstrap=0))
    row(f"group rates ({len(y):,} people / {g.n_cells:,} cells)", t_pw, t_fl, "fairlearn MetricFrame")

    # 2. Bootstrap over cells: numpy (vectorised in chunks) vs placewise.
    P = pop.counts
    units = np.flatnonzero((dose > 0) | (P.sum(1) > 0))

    def numpy_boot():
        rng = np.random.default_rng(0)
        out = []
        for _ in range(B):
            idx = units[rng.integers(0, len(units), len(units))]
            Pi = P[idx]
            r = (dose[idx, None] * Pi).sum(0) / Pi.sum(0)
            out.append(r / r[0])
        return np.percentile(out, [2.5, 97.5], axis=0)

    t_np, _ = timed(numpy_boot, repeat=1)
    t_pw, _ = timed(lambda: pw.audit.disparity(dose, pop, bootstrap=B, seed=0), repeat=1)
    row(f"disparity bootstrap {B} x {len(units):,} cells", t_pw, t_np, "numpy bootstrap")

    # 3. Concentration baseline: pysal Gini on numpy multinomial draws vs placewise.
    from inequality.gini import Gini

    S = 99 if quick else 999
    active = np.flatnonzero(g.mask().ravel())

    def peer_conc():
        rng = np.random.default_rng(0)
        gs = [Gini(rng.multinomial(40, np.full(len(active), 1 / len(active))).astype(float)).g for _ in range(S)]
        return Gini(dose[active]).g, np.mean(gs)

    t_peer, (g_obs, g_base) = timed(peer_conc, repeat=1)
    t_pw, c = timed(lambda: pw.audit.concentration(dose, grid=g, simulations=S, seed=0), repeat=1)
    row(f"concentration, {S} random allocations", t_pw, t_peer, "pysal inequality + numpy")
    print(f"    Gini {c.cells['gini']:.5f} (pysal {g_obs:.5f}); baseline mean {c.cells['baseline_gini_mean']:.5f} "
          f"(numpy {g_base:.5f})")

    # 4. Ensign urn: numpy loop vs placewise.
    runs, draws = (40, 1000) if quick else (200, 1000)

    def numpy_urn():
        rng = np.random.default_rng(0)
        out = np.empty(runs)
        for k in range(runs):
            a_, b_ = 609.0, 379.0
            for _ in range(draws):
                if rng.random() < a_ / (a_ + b_):
                    a_ += rng.poisson(3.68511)
                else:
                    b_ += rng.poisson(2.816466)
            out[k] = a_ / (a_ + b_)
        return out

    t_np, fin = timed(numpy_urn, repeat=1)
    t_pw, u = timed(lambda: pw.audit.ensign_urn(runs=runs, draws=draws, seed=0))
    row(f"ensign_urn {runs} runs x {draws} draws", t_pw, t_np, "numpy urn loop")
    print(f"    mean final share {u.mean_final_share:.4f} (numpy {fin.mean():.4f}); verdict {u.verdict}")


if __name__ == "__main__":
    main("--quick" in sys.argv)

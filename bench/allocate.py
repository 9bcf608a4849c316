"""Allocation speed against peers, in one process: python bench/allocate.py [cell_size_m]

Chicago at 150 m (≈27k active cells), its five ACS groups, 200 units, the naive count surface
of the bundled 2018–2019 aggravated assaults.
* top_k vs numpy (lexsort of the active cells, the obvious way to do it by hand);
* fair (tau 0.8 against the population average) vs scipy.optimize.linprog with HiGHS (C++,
  dual simplex / IPM) on the same LP, built the way an analyst would with dense numpy rows.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy.optimize import linprog

import placewise as pw


def best_of(f, n=3):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    cell = float(sys.argv[1]) if len(sys.argv) > 1 else 150.0
    city = pw.datasets.load_chicago(cell_size=cell)
    grid = city.grid
    s = pw.Surface(grid.counts(city.incidents), grid, "naive counts")
    ids = grid.cell_ids
    r = s.values.ravel()[ids]
    counts = city.population.counts[ids]
    print(f"Chicago {cell:g} m: {len(ids):,} active cells, {counts.shape[1]} groups, 200 units")

    t_pw, a = best_of(lambda: pw.allocate(s, budget=pw.Budget(units=200), strategy="top_k"))
    t_np, order = best_of(lambda: np.lexsort((ids, -r))[:200])
    assert np.isclose(a.risk_covered, r[order].sum())
    print(f"top_k        placewise {t_pw * 1e3:8.2f} ms   numpy lexsort {t_np * 1e3:8.2f} ms   ratio {t_pw / t_np:6.2f}")

    tau = 0.8
    t_pw, f = best_of(lambda: pw.allocate(s, budget=pw.Budget(units=200), strategy="fair", population=city.population, tau=tau))

    def highs():
        share = counts / counts.sum(axis=0)
        avg = counts.sum(axis=1) / counts.sum()
        rows = []
        for g in range(counts.shape[1]):
            rows += [tau * avg - share[:, g], tau * share[:, g] - avg]
        return linprog(-r, A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=np.ones((1, len(r))), b_eq=[200],
                       bounds=(0, 1), method="highs")

    t_h, res = best_of(highs)
    print(f"fair tau=0.8 placewise {t_pw:8.3f} s    scipy HiGHS   {t_h:8.3f} s    ratio {t_pw / t_h:6.2f}")
    print(f"  risk covered: placewise {f.risk_covered:.6f}, HiGHS {-res.fun:.6f} (rel diff {abs(f.risk_covered + res.fun) / -res.fun:.1e})")
    print(f"  {f.price_of_fairness}")


if __name__ == "__main__":
    main()

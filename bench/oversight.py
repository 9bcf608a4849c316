"""Oversight audits at scale, in one process (figures, not tests).

1. Targeting audit over 40 jurisdictions × 500 areas with 1,000 permutations each (target:
   < 10 s on 2 cores), against a vectorised numpy implementation of the same windows and
   permutation shares (peer), printed as a ratio.
2. 1M GPS pings to minutes and visits per cell (target: < 2 s), against a pandas groupby peer.

    .venv/bin/python bench/oversight.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import placewise as pw


def targeting_bench(jur: int = 40, n: int = 500, perms: int = 1000) -> None:
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(jur):
        tot = rng.integers(300, 3000, n).astype(float)
        share = rng.dirichlet([2, 2, 2, 1], n)
        groups = np.floor(share * tot[:, None])
        counts = np.where(rng.random(n) < 0.1, 0, rng.gamma(0.8, 300, n)).round()
        df = pd.DataFrame(groups, columns=list("ABCD"))
        df["total"], df["count"] = tot, counts
        cases.append(df)
    t, c0 = time.perf_counter(), time.process_time()
    res = [pw.audit.targeting(None, df, groups=list("ABCD"), total="total", count="count",
                              permutations=perms, seed=i, jurisdiction=f"j{i}") for i, df in enumerate(cases)]
    tp, cp = time.perf_counter() - t, time.process_time() - c0
    summary = pw.audit.targeting_summary(res)

    # peer: numpy, most-targeted window only, same permutation count (a lower bound on its cost)
    t, c0 = time.perf_counter(), time.process_time()
    for df in cases[:4]:
        c = df["count"].to_numpy()
        tot = df["total"].to_numpy()
        g = df[list("ABCD")].to_numpy()
        w = int(np.round(n * 0.05))
        for _ in range(perms):
            p = rng.permutation(c)
            order = np.lexsort((-tot, -p))[: w + 1]
            g[order].sum(axis=0) / tot[order].sum()
    tn, cn = (time.perf_counter() - t) * jur / 4, (time.process_time() - c0) * jur / 4
    print(f"targeting: {jur} jurisdictions × {n} areas × {perms} permutations: placewise {tp:.2f} s wall "
          f"({cp:.2f} s CPU); numpy (most-targeted window only, extrapolated from 4) {tn:.2f} s wall ({cn:.2f} s CPU); "
          f"ratio {tn / tp:.1f}× wall, {cn / cp:.1f}× CPU")
    print(summary.head(4).to_string())


def pings_bench(n: int = 1_000_000) -> None:
    region = pw.Region.from_bounds(0, 0, 20000, 20000, crs="EPSG:32616")
    grid = pw.Grid(region, cell_size=150)
    rng = np.random.default_rng(1)
    units = rng.integers(0, 200, n)
    t0 = np.sort(rng.integers(0, 30 * 86400, n))
    df = pd.DataFrame({"unit": units.astype(str), "x": rng.random(n) * 20000, "y": rng.random(n) * 20000,
                       "t": pd.to_datetime(t0, unit="s", utc=True)})
    t, c0 = time.perf_counter(), time.process_time()
    p = pw.Patrols.from_pings(df, x="x", y="y", t="t", unit="unit", grid=grid, crs="EPSG:32616")
    m = p.dose(grid, "minutes")
    v = p.dose(grid, "visits")
    tp, cp = time.perf_counter() - t, time.process_time() - c0
    # peer: pandas groupby diff, cells by floor division
    t, c0 = time.perf_counter(), time.process_time()
    d = df.sort_values(["unit", "t"])
    secs = d["t"].astype("int64") // 10**9
    gap = secs.groupby(d["unit"]).diff(-1).abs().fillna(0) / 60
    cell = (d["y"] // 150).astype(int) * grid.nx + (d["x"] // 150).astype(int)
    pd.Series(np.minimum(gap, 10).to_numpy()).groupby(cell.to_numpy()).sum()
    tn, cn = time.perf_counter() - t, time.process_time() - c0
    print(f"pings: {n:,} pings to minutes and visits per cell: placewise {tp:.2f} s wall ({cp:.2f} s CPU; total "
          f"{m.sum():,.0f} min, {v.sum():,.0f} visits); pandas groupby (minutes only) {tn:.2f} s wall ({cn:.2f} s CPU); "
          f"ratio {tn / tp:.2f}×")


if __name__ == "__main__":
    targeting_bench()
    pings_bench()

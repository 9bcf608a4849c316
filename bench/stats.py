"""Peer comparison for placewise.stats, run in one process: Gi* against esda, Knox against a
numpy/scipy route (cKDTree pairs + vectorised binning per permutation) and, for context, the
issue's figure for open_cp.

    .venv/bin/python bench/stats.py            # full sizes
    .venv/bin/python bench/stats.py --quick    # reduced sizes for a busy machine

Prints times and ratios; nothing here runs in `make test`.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

import placewise as pw

DAY = 86_400


def best(f, repeat: int = 3) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def counts_grid(n: int, seed: int = 1) -> tuple[np.ndarray, pw.Grid]:
    rng = np.random.default_rng(seed)
    grid = pw.Grid(pw.Region.from_bounds(0, 0, n * 100, n * 100, crs="EPSG:32616"), cell_size=100)
    v = rng.poisson(1.0, size=(n, n)).astype(float)
    centres = rng.integers(0, n, size=(200, 2))
    for r, c in centres:
        v[max(r - 4, 0) : r + 5, max(c - 4, 0) : c + 5] += rng.poisson(2.0, size=v[max(r - 4, 0) : r + 5, max(c - 4, 0) : c + 5].shape)
    return v, grid


def bench_gi(n_esda: int, n_big: int) -> None:
    import esda
    import libpysal

    v, grid = counts_grid(n_esda)
    ids = grid.cell_ids
    cx, cy = grid.centres(ids)
    w = libpysal.weights.DistanceBand(np.column_stack([cx, cy]), threshold=150, binary=True, silence_warnings=True)
    y = v.ravel()[ids]
    with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=0)
        t_esda_cold = time.perf_counter() - t0
        t_esda = best(lambda: esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=0), repeat=2)
    t_pw = best(lambda: pw.stats.gi_star(v, grid=grid, distance=150, permutations=999, seed=0))
    print(f"Gi* {n_esda}x{n_esda}, 999 permutations, queen band (150 m on 100 m cells):")
    print(f"  esda G_Local   {t_esda:8.3f} s warm ({t_esda_cold:.3f} s cold, numba compile included)")
    print(f"  placewise      {t_pw:8.3f} s   -> {t_esda / t_pw:,.0f}x faster than esda (warm)")
    vb, gb = counts_grid(n_big)
    t_big = best(lambda: pw.stats.gi_star(vb, grid=gb, distance=150, permutations=999, seed=0))
    t_big_inv = best(lambda: pw.stats.gi_star(vb, grid=gb, distance=150, weights="inverse_distance", permutations=999, seed=0))
    print(f"Gi* {n_big}x{n_big}, 999 permutations: placewise {t_big:.3f} s binary, {t_big_inv:.3f} s inverse distance"
          f" (target < 1 s)")


def events(n: int, seed: int = 1) -> pw.Incidents:
    rng = np.random.default_rng(seed)
    half = n // 2
    centres = rng.uniform(0, 10_000, size=(200, 2))
    k = rng.integers(0, 200, n - half)
    x = np.concatenate([rng.uniform(0, 10_000, half), centres[k, 0] + rng.normal(0, 150, n - half)])
    y = np.concatenate([rng.uniform(0, 10_000, half), centres[k, 1] + rng.normal(0, 150, n - half)])
    t = rng.integers(0, 730 * DAY, n)
    df = pd.DataFrame({"x": x, "y": y, "t": pd.to_datetime(t, unit="s", utc=True)})
    return pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616")


def knox_numpy(inc: pw.Incidents, s_edges, t_edges, permutations: int, seed: int) -> np.ndarray:
    """A good Python route: cKDTree pairs once, then per permutation a vectorised bincount."""
    from scipy.spatial import cKDTree

    xy = np.column_stack([inc.x, inc.y])
    pairs = cKDTree(xy).query_pairs(s_edges[-1], output_type="ndarray")
    d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    sb = np.searchsorted(s_edges, d, side="left")  # (lo, hi] bins; 0 = same location
    rng = np.random.default_rng(seed)
    t = np.asarray(inc.t)
    ns, nt = len(s_edges), len(t_edges)
    out = np.zeros((permutations + 1, ns * nt), dtype=np.int64)
    for p in range(permutations + 1):
        tp = t if p == 0 else rng.permutation(t)
        dt = np.abs(tp[pairs[:, 0]] - tp[pairs[:, 1]]) / DAY
        tb = np.searchsorted(t_edges, dt, side="left")
        ok = tb < nt
        out[p] = np.bincount(sb[ok] * nt + tb[ok], minlength=ns * nt)
    return out


def bench_knox(sizes: list[int], perms: int) -> None:
    s_edges = [0, 100, 200, 300, 400]
    t_edges = [0, 7, 14, 21, 28]
    for n in sizes:
        inc = events(n)
        t_pw = best(lambda: pw.stats.knox(inc, s_edges, t_edges, permutations=perms, seed=0), repeat=1 if n > 50_000 else 2)
        k = pw.stats.knox(inc, s_edges, t_edges, permutations=perms, seed=0)
        np_perms = perms if n <= 20_000 else 19
        t_np = best(lambda: knox_numpy(inc, np.array(s_edges, float), np.array(t_edges, float), np_perms, 0), repeat=1)
        note = "" if np_perms == perms else f" (extrapolated from {np_perms} permutations)"
        t_np = t_np * (perms + 1) / (np_perms + 1)
        print(f"Knox {n:,} events, {perms} permutations, {k.close_pairs:,} pairs within 400 m:")
        print(f"  numpy/cKDTree route {t_np:8.3f} s{note}")
        print(f"  placewise           {t_pw:8.3f} s   -> {t_np / t_pw:,.1f}x faster")
    print("  open_cp (issue's figure, not rerun here): 56 s for 10k events with 19 permutations")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"placewise {pw.__version__}; {os.cpu_count()} CPUs; RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'all')}")
    if args.quick:
        bench_gi(128, 512)
        bench_knox([10_000], 99)
    else:
        bench_gi(256, 1024)
        bench_knox([10_000, 100_000], 999)


if __name__ == "__main__":
    main()

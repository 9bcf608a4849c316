"""KDE peer comparison, all in one process: placewise vs scikit-learn, KDEpy, numpy/scipy FFT
and exact numpy GEMM.

    .venv/bin/python bench/kde.py            # full size: 1M points, 1024×1024 (binned routes)
    .venv/bin/python bench/kde.py --quick    # 200k points, 512×512

Data: half clustered (Gaussian clusters), half uniform, in a 10 km square; bandwidth 200 m.
Errors are measured against an exact all-pairs numpy sum on a sample of cells (random cells plus
the top cells), relative to the maximum of the exact surface. Exact routes (scikit-learn with
rtol=1e-4, numpy GEMM) run at a reduced size, stated in the output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.signal

import placewise as pw

CRS = "EPSG:32616"
SIDE = 10_000.0
H = 200.0


def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    nc = n // 2
    centres = rng.uniform(1000, 9000, (40, 2))
    spread = rng.uniform(100, 600, 40)
    k = rng.integers(0, 40, nc)
    pc = centres[k] + rng.normal(size=(nc, 2)) * spread[k, None]
    pu = rng.uniform(0, SIDE, (n - nc, 2))
    p = np.clip(np.vstack([pc, pu]), 0, SIDE - 1e-6)
    return p[:, 0].copy(), p[:, 1].copy()


def best(f, repeat: int = 3):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return out, min(ts)


def exact_at(cx, cy, x, y, h=H, chunk=8):
    """All-pairs Gaussian sum at points (cx, cy): density per m² × n (independent reference)."""
    out = np.empty(len(cx))
    c = -0.5 / (h * h)
    for s in range(0, len(cx), chunk):
        dx = cx[s:s + chunk, None] - x[None]
        dy = cy[s:s + chunk, None] - y[None]
        out[s:s + chunk] = np.exp(c * (dx * dx + dy * dy)).sum(1)
    return out / (2 * np.pi * h * h)


def numpy_linear_binning_fft(x, y, nx, cell, h=H, cut=6.0):
    """The best pure-Python route: linear binning onto cell centres (np.bincount) and
    scipy.signal.fftconvolve with the kernel sampled on the lattice (truncated at cut·h)."""
    m = int(np.ceil(cut * h / cell)) + 1
    n = nx + 2 * m
    u = x / cell - 0.5 + m
    v = y / cell - 0.5 + m
    i, j = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - i, v - j
    b = np.zeros(n * n)
    for di, wi in ((0, 1 - fu), (1, fu)):
        for dj, wj in ((0, 1 - fv), (1, fv)):
            b += np.bincount((j + dj) * n + (i + di), weights=wi * wj, minlength=n * n)
    o = np.arange(-m, m + 1) * cell
    g = np.exp(-0.5 * o**2 / h**2)
    k = np.outer(g, g) / (2 * np.pi * h * h) * cell * cell
    full = scipy.signal.fftconvolve(b.reshape(n, n), k, mode="same")
    return full[m:m + nx, m:m + nx]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--nx", type=int, default=None)
    ap.add_argument("--skip-sklearn", action="store_true")
    a = ap.parse_args()
    n = a.n or (200_000 if a.quick else 1_000_000)
    nx = a.nx or (512 if a.quick else 1024)
    cell = SIDE / nx
    x, y = points(n)
    grid = pw.Grid(pw.Region.from_bounds(0, 0, SIDE, SIDE, crs=CRS), cell_size=cell)
    assert grid.shape == (nx, nx)
    area = cell * cell
    print(f"binned routes: {n:,} points onto {nx}×{nx} cells of {cell:.2f} m, bandwidth {H:.0f} m (h/cell = {H / cell:.1f})")

    # error reference: exact all-pairs sum on sampled cells
    rng = np.random.default_rng(1)
    warm = pw.models.kde_grid(grid, x, y, H, mode="binned")
    top = np.argsort(warm.ravel())[-100:]
    sample = np.unique(np.concatenate([rng.choice(nx * nx, 400, replace=False), top]))
    cx, cy = grid.centres(sample)
    t = time.perf_counter()
    ref = exact_at(cx, cy, x, y) * area
    print(f"  (exact reference on {len(sample)} cells: {time.perf_counter() - t:.1f} s)")
    vmax = ref.max()

    def err(v):
        return np.max(np.abs(v.ravel()[sample] - ref)) / vmax

    rows = []
    v, tb = best(lambda: pw.models.kde_grid(grid, x, y, H, mode="binned"))
    rows.append(("placewise binned (auto order)", tb, err(v), v.sum() / n))
    v2, tb2 = best(lambda: pw.models.kde_grid(grid, x, y, H, mode="binned", binning_order=2))
    rows.append(("placewise binned (linear binning)", tb2, err(v2), v2.sum() / n))
    vn, tn = best(lambda: numpy_linear_binning_fft(x, y, nx, cell))
    rows.append(("numpy linear binning + scipy fftconvolve", tn, err(vn), vn.sum() / n))
    try:
        from KDEpy import FFTKDE

        data = np.column_stack([x, y])
        (gp, dens), tk = best(lambda: FFTKDE(kernel="gaussian", bw=H).fit(data).evaluate((nx, nx)))
        gx = np.unique(gp[:, 0])
        step = gx[1] - gx[0]
        mass = dens.sum() * step * (np.unique(gp[:, 1])[1] - np.unique(gp[:, 1])[0])
        pick = np.unique(np.concatenate([rng.choice(len(gp), 400, replace=False), np.argsort(dens)[-100:]]))
        kref = exact_at(gp[pick, 0], gp[pick, 1], x, y) / n
        kerr = np.max(np.abs(dens[pick] - kref)) / kref.max()
        rows.append((f"KDEpy FFTKDE ({nx}² grid of its own, step {step:.1f} m)", tk, kerr, mass))
    except ImportError:
        print("  KDEpy not installed: pip install KDEpy")
    print(f"  {'route':52s} {'time s':>8s} {'max err/max':>12s} {'mass':>9s}  ratio to placewise binned")
    for name, tt, e, mass in rows:
        print(f"  {name:52s} {tt:8.3f} {e:12.2e} {mass:9.5f}  {tt / tb:6.1f}×")

    # exact routes at a reduced size
    ne, nxe = (20_000, 256)
    xe, ye = x[:: n // ne][:ne], y[:: n // ne][:ne]
    ce = SIDE / nxe
    ge = pw.Grid(pw.Region.from_bounds(0, 0, SIDE, SIDE, crs=CRS), cell_size=ce)
    ids = np.arange(nxe * nxe)
    gcx, gcy = ge.centres(ids)
    print(f"exact routes: {ne:,} points onto {nxe}×{nxe} cells of {ce:.1f} m, bandwidth {H:.0f} m")

    def gemm():
        c = np.column_stack([gcx, gcy])
        p = np.column_stack([xe, ye])
        out = np.empty(len(c))
        pp = (p * p).sum(1)
        for s in range(0, len(c), 2048):
            cc = c[s:s + 2048]
            d2 = (cc * cc).sum(1)[:, None] + pp[None] - 2 * cc @ p.T
            out[s:s + 2048] = np.exp(np.maximum(d2, 0) * (-0.5 / H**2)).sum(1)
        return out / (2 * np.pi * H * H) * ce * ce

    vg, tg = best(gemm, repeat=1)
    ve, te = best(lambda: pw.models.kde_grid(ge, xe, ye, H))
    vi, ti = best(lambda: pw.models.kde_grid(ge, xe, ye, H, cutoff=float("inf")))
    scale = vg.max()
    print(f"  {'numpy GEMM (all pairs)':52s} {tg:8.3f}")
    print(f"  {'placewise exact (cutoff 6h)':52s} {te:8.3f}  max diff/max {np.max(np.abs(ve.ravel() - vg)) / scale:.1e}  GEMM/placewise {tg / te:6.1f}×")
    print(f"  {'placewise exact (no cutoff, all pairs)':52s} {ti:8.3f}  max diff/max {np.max(np.abs(vi.ravel() - vg)) / scale:.1e}  GEMM/placewise {tg / ti:6.1f}×")
    if not a.skip_sklearn:
        from sklearn.neighbors import KernelDensity

        ns, nxs = 5_000, 128
        xs, ys = x[:: n // ns][:ns], y[:: n // ns][:ns]
        gs = pw.Grid(pw.Region.from_bounds(0, 0, SIDE, SIDE, crs=CRS), cell_size=SIDE / nxs)
        scx, scy = gs.centres(np.arange(nxs * nxs))
        kd = KernelDensity(bandwidth=H, rtol=1e-4).fit(np.column_stack([xs, ys]))
        vs, ts = best(lambda: kd.score_samples(np.column_stack([scx, scy])), repeat=1)
        vp, tp = best(lambda: pw.models.kde_grid(gs, xs, ys, H))
        dp = np.exp(vs) * ns * (SIDE / nxs) ** 2
        print(f"scikit-learn KernelDensity(rtol=1e-4): {ns:,} points onto {nxs}×{nxs} cells")
        print(f"  sklearn {ts:.3f} s, placewise exact {tp:.4f} s: sklearn/placewise {ts / tp:.0f}×; "
              f"max rel diff {np.max(np.abs(vp.ravel() - dp) / dp.max()):.1e}")


if __name__ == "__main__":
    main()

"""Shared helpers for the model tests: small synthetic incidents and grids (projected CRS in metres).

No tests here; the file is named test_models_* to stay within the models test files."""

from __future__ import annotations

import numpy as np
import pandas as pd

import placewise as pw

CRS = "EPSG:32616"


def incidents(x, y, t_seconds, weight=None) -> pw.Incidents:
    df = pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float),
                       "t": pd.to_datetime(np.asarray(t_seconds, np.int64), unit="s", utc=True)})
    kw = {}
    if weight is not None:
        df["w"] = np.asarray(weight, float)
        kw["weight"] = "w"
    return pw.Incidents.from_frame(df, x="x", y="y", t="t", crs=CRS, tz="UTC", spike_min_count=10**9, **kw)


def grid(x0, y0, x1, y1, cell) -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(x0, y0, x1, y1, crs=CRS), cell_size=cell)


def cloud(n: int, seed: int, extent=(0.0, 0.0, 2000.0, 1500.0)):
    """Half clustered (three Gaussian clusters), half uniform."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = extent
    nc = n // 2
    centres = np.array([[x0 + 0.3 * (x1 - x0), y0 + 0.4 * (y1 - y0)], [x0 + 0.7 * (x1 - x0), y0 + 0.6 * (y1 - y0)],
                        [x0 + 0.5 * (x1 - x0), y0 + 0.2 * (y1 - y0)]])
    which = rng.integers(0, 3, nc)
    pts_c = centres[which] + rng.normal(0, 0.04 * (x1 - x0), (nc, 2))
    pts_u = np.column_stack([rng.uniform(x0, x1, n - nc), rng.uniform(y0, y1, n - nc)])
    pts = np.vstack([pts_c, pts_u])
    t = np.sort(rng.integers(1_500_000_000, 1_500_000_000 + 365 * 86400, n))
    return pts[:, 0], pts[:, 1], t

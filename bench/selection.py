"""Model-selection and feature-building speed on the full Chicago data at 150 m.

1. The full selection: 4 models × 4 settings (Naive windows, KDE bandwidths, Blend weights,
   RiskFactors penalties) × 52 weekly test origins (+ 8 warm-up origins), scored on PAI @ 1 %
   and the probabilistic scores (target < 60 s on 2 cores).
2. Feature building: every active cell (~27k) × 10 point layers (the 7 Chicago layers and the
   centroids of police beats, neighbourhoods and community areas) × 52 origins (target < 5 s).

The machine's load average is printed next to each figure (the figures are wall time).
Run: .venv/bin/python bench/selection.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import gzip
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

import placewise as pw
from placewise import _native


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLACEWISE_SHARED_DATA", "../shared/data")
    warnings.simplefilter("ignore", pw.exceptions.PlacewiseWarning)
    city = pw.datasets.read_chicago(data)
    g = city.grid
    layers = pw.datasets.read_chicago_risk_factors(data, crs=g.crs)
    import geopandas as gpd

    d = Path(data) / "chicago_risk_factors_2017"
    for name, f in (("police_beats", "policeBeats.geojson.gz"), ("neighbourhoods", "chicagoNhoods.geojson.gz")):
        with gzip.open(d / f) as fh:
            poly = gpd.read_file(fh).to_crs(g.crs)
        layers[name] = gpd.GeoDataFrame(geometry=poly.geometry.representative_point(), crs=g.crs)
    layers["community_areas"] = gpd.GeoDataFrame(geometry=city.areas.to_crs(g.crs).geometry.representative_point(), crs=g.crs)
    arrays = pw.models.risk_factors.layer_arrays(layers, g)
    origins = [int(t.timestamp()) for t in pd.date_range("2019-01-06", periods=52, freq="7D", tz=city.incidents.tz)]
    print(f"load average before: {load()}  (2 cores, shared machine)")
    t0 = time.perf_counter()
    x, names, _, cells = _native.build_features(g._native, city.incidents._native, origins, arrays)
    dt = time.perf_counter() - t0
    print(f"features: {len(cells):,} cells × {len(arrays)} layers × {len(origins)} origins = {x.shape[0]:,} rows × "
          f"{x.shape[1]} features in {dt:.2f} s (load {load()})")

    t0 = time.perf_counter()
    res = pw.evaluate.select(None, city.incidents, g, start="2019-01-06", end="2019-12-29", metric="pai", coverage=0.01,
                             history="1095D", lookback=8, bootstrap=1000)
    dt = time.perf_counter() - t0
    n_fit = len(res.candidates) * (len(res.tests) + res.params["warmup"])
    print(f"selection: {len(res.candidates)} candidates × ({len(res.tests)} + {res.params['warmup']} warm-up) origins = "
          f"{n_fit} fits in {dt:.1f} s ({dt / n_fit * 1000:.0f} ms per fit+predict+score; load {load()})")
    print(res)


if __name__ == "__main__":
    main()

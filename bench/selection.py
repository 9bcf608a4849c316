"""Model-selection and feature-building speed on the full Chicago data at 150 m.

1. The full selection: 4 models × 4 settings (Naive windows, KDE bandwidths, Blend weights,
   RiskFactors penalties) × 52 weekly test origins (+ 8 warm-up origins), scored on PAI @ 1 %
   and the probabilistic scores (target < 60 s on 2 cores).
2. Feature building: every active cell (~27k) × 10 point layers (the 7 Chicago layers and the
   centroids of police beats, neighbourhoods and community areas) × 52 origins (target < 5 s).

3. Where the selection's time goes: CPU seconds per origin of each family (fit, predict and
   score, the family's shortcuts included) over the first 8 origins.
4. With ``--before``: the same selection without the shortcuts (every KDE summed directly at
   every origin, every penalty's IRLS from a cold start), run in the same process after the
   fast one, so the two figures see the same machine; the choices must agree.

Each figure is given as wall and CPU time (this process, all threads) with the load average.
Run: .venv/bin/python bench/selection.py [SHARED_DATA_DIR] [--before]
"""

from __future__ import annotations

import gzip
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

import placewise as pw
from placewise import _native


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_select(city, g):  # noqa: ANN001, ANN201
    return pw.evaluate.select(None, city.incidents, g, start="2019-01-06", end="2019-12-29", metric="pai", coverage=0.01,
                              history="1095D", lookback=8, bootstrap=1000)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    before = "--before" in sys.argv
    data = args[0] if args else os.environ.get("PLACEWISE_SHARED_DATA", "../shared/data")
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
    t0, c0 = time.perf_counter(), cpu()
    x, names, _, cells = _native.build_features(g._native, city.incidents._native, origins, arrays)
    dt, dc = time.perf_counter() - t0, cpu() - c0
    print(f"features: {len(cells):,} cells × {len(arrays)} layers × {len(origins)} origins = {x.shape[0]:,} rows × "
          f"{x.shape[1]} features in {dt:.2f} s wall, {dc:.2f} s CPU (load {load()})")

    t0, c0 = time.perf_counter(), cpu()
    res = run_select(city, g)
    dt, dc = time.perf_counter() - t0, cpu() - c0
    n_fit = len(res.candidates) * (len(res.tests) + res.params["warmup"])
    print(f"selection: {len(res.candidates)} candidates × ({len(res.tests)} + {res.params['warmup']} warm-up) origins = "
          f"{n_fit} fits in {dt:.1f} s wall, {dc:.1f} s CPU ({dt / n_fit * 1000:.0f} ms wall per fit+predict+score; "
          f"load {load()})")
    print(res)

    # per family: CPU per origin over the first 8 origins (each family alone, its shortcuts on)
    from placewise.selection import SelectionTask, TaskRunner, default_candidates

    cands = default_candidates(g.cell_size)
    first = [res.params["start"] - res.params["step"] * k for k in range(res.params["warmup"], 0, -1)]
    for fam in dict.fromkeys(c.family for c in cands):
        runner = TaskRunner(city.incidents, g)
        fc = tuple(c for c in cands if c.family == fam)
        c0 = cpu()
        for o in first:
            runner(SelectionTask(o, res.params["step"], res.params["history"], res.params["baseline_window"], fc,
                                 tuple(res.params["report_coverages"])))
        print(f"  {fam:12s} {len(fc)} settings: {(cpu() - c0) / len(first) * 1000:.0f} ms CPU per origin "
              f"(baseline included; load {load()})")

    if before:
        from placewise import selection

        selection._SHORTCUTS = False
        t0, c0 = time.perf_counter(), cpu()
        old = run_select(city, g)
        dt0, dc0 = time.perf_counter() - t0, cpu() - c0
        selection._SHORTCUTS = True
        print(f"before (no shortcuts, same process): {dt0:.1f} s wall, {dc0:.1f} s CPU (load {load()}); "
              f"ratio {dt0 / dt:.1f}× wall, {dc0 / dc:.1f}× CPU")
        same = old.choices.equals(res.choices)
        print(f"choices identical: {same}; winner {old.winner} vs {res.winner}")
        if not same:
            diff = (old.choices != res.choices).any(axis=1)
            print(pd.concat([old.choices[diff], res.choices[diff]], keys=["before", "after"]))


if __name__ == "__main__":
    main()

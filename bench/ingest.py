"""Ingest benchmark: full Chicago CSV → Incidents → cells of a 150 m grid, against the
equivalent geopandas pipeline (points_from_xy + to_crs + sjoin onto the grid's cells), measured
in one process. Both start from the same pandas DataFrame; reading the CSV is timed separately.

Run: .venv/bin/python bench/ingest.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

import placewise as pw


def best(f, repeat: int = 3):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLACEWISE_SHARED_DATA", "../shared/data"))
    d = data / "chicago_agg_assault_2010_2019"
    t_read, df = best(lambda: pd.read_csv(d / "chicago_aggravated_assaults.csv.gz", dtype={"date": "string"}), 1)
    areas = gpd.read_file(d / "chicago_community_areas_2020.geojson")
    region = pw.Region.from_geodataframe(areas)
    grid = pw.Grid(region, cell_size=150)
    cells_gdf = grid.to_geodataframe()

    def placewise_route() -> np.ndarray:
        with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
            warnings.simplefilter("always")
            inc = pw.Incidents.from_frame(df, x="longitude", y="latitude", t="date", tz="America/Chicago",
                                          category="loc_cat", region=region)
        return grid.cell_of(inc.x, inc.y)

    def geopandas_route() -> np.ndarray:
        pts = gpd.GeoDataFrame(
            {"date": pd.to_datetime(df["date"]).dt.tz_localize("America/Chicago", ambiguous=True, nonexistent="shift_forward")},
            geometry=gpd.points_from_xy(df["longitude"], df["latitude"]), crs="EPSG:4326",
        ).to_crs(grid.crs)
        joined = gpd.sjoin(pts, cells_gdf[["cell_id", "geometry"]], predicate="within", how="inner")
        return joined["cell_id"].to_numpy()

    t_pw, cells_pw = best(placewise_route)
    t_gp, cells_gp = best(geopandas_route)
    print(f"rows: {len(df):,}; grid {grid.nx}x{grid.ny} (150 m), {grid.n_active:,} active cells")
    print(f"read_csv (shared by both):            {t_read:7.3f} s")
    print(f"placewise ingest+quality+cells:       {t_pw:7.3f} s  ({len(cells_pw):,} incidents in cells)")
    print(f"geopandas points_from_xy+to_crs+sjoin:{t_gp:7.3f} s  ({len(cells_gp):,} point-cell pairs)")
    print(f"ratio geopandas / placewise:          {t_gp / t_pw:7.2f}x")


if __name__ == "__main__":
    main()

"""Builds the small real sample bundled in placewise/datasets/data from ../shared/data.

Run from the repository root: python scripts/make_bundled_sample.py [SHARED_DATA_DIR]
The output is committed; this script documents exactly how it was made.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

root = Path(__file__).resolve().parents[1]
src = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data"
chi = src / "chicago_agg_assault_2010_2019"
out = root / "python" / "placewise" / "datasets" / "data"
out.mkdir(parents=True, exist_ok=True)

# Incidents 2018-2019, columns and values unchanged.
df = pd.read_csv(chi / "chicago_aggravated_assaults.csv.gz", dtype=str)
sample = df[df["date"].str[:4].isin(["2018", "2019"])]
with gzip.GzipFile(out / "chicago_aggravated_assaults_2018_2019.csv.gz", "wb", mtime=0) as f:
    f.write(sample.to_csv(index=False).encode())

# Community areas: identifiers and race/ethnicity counts only, geometry unchanged.
ca = gpd.read_file(chi / "chicago_community_areas_2020.geojson")
keep = ["area_num_1", "community", "TOT_POP", "WHITE", "HISP", "BLACK", "ASIAN", "OTHER"]
ca = ca[keep + ["geometry"]]
ca["area_num_1"] = ca["area_num_1"].astype(int)
with gzip.GzipFile(out / "chicago_community_areas.geojson.gz", "wb", mtime=0) as f:
    f.write(ca.to_json(drop_id=True).encode())

# Police districts from KML, name only.
pd_ = gpd.read_file(chi / "chicago_police_districts.kml")
pd_ = pd_[["Name", "geometry"]].rename(columns={"Name": "district"})
pd_["geometry"] = pd_.geometry.force_2d()
with gzip.GzipFile(out / "chicago_police_districts.geojson.gz", "wb", mtime=0) as f:
    f.write(pd_.to_json(drop_id=True).encode())
print(f"{len(sample)} incidents, {len(ca)} community areas, {len(pd_)} districts written to {out}")

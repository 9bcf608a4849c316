"""Real data: a small bundled Chicago sample, and readers for the full data sets.

The bundled sample (Chicago aggravated assaults 2018–2019, the 77 community areas with ACS
race/ethnicity counts, and the 25 police districts) needs nothing else; see
:data:`ATTRIBUTION` for sources and licences. :func:`read_chicago` and :func:`read_toronto`
read the full sets from a data folder laid out as in the project's ``shared/data``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..data import Incidents
from ..space import Grid, Population, Region

if TYPE_CHECKING:
    import geopandas as gpd

CHICAGO_GROUPS = ["WHITE", "BLACK", "HISP", "ASIAN", "OTHER"]
CHICAGO_TZ = "America/Chicago"
TORONTO_TZ = "America/Toronto"
TORONTO_GROUPS = [
    "vm_south_asian", "vm_chinese", "vm_black", "vm_filipino", "vm_latin_american", "vm_arab",
    "vm_southeast_asian", "vm_west_asian", "vm_korean", "vm_japanese", "vm_nie", "vm_multiple",
    "not_visible_minority",
]


def _data(name: str) -> Any:
    return resources.files(__name__).joinpath("data", name)


ATTRIBUTION: str = _data("ATTRIBUTION.md").read_text(encoding="utf-8")


@dataclass
class CityData:
    """Everything the chain needs for one city."""

    name: str
    incidents: Incidents
    region: Region
    grid: Grid
    population: Population
    areas: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame | None
    groups: list[str]
    attribution: str

    def __repr__(self) -> str:
        return f"<CityData {self.name}: {len(self.incidents):,} incidents, {self.grid!r}>"


def chicago_incidents_frame() -> pd.DataFrame:
    """The bundled 2018–2019 incidents as read from the CSV (columns date, loc_cat, longitude,
    latitude, district; dates are local Chicago time)."""
    with _data("chicago_aggravated_assaults_2018_2019.csv.gz").open("rb") as f:
        return pd.read_csv(f, compression="gzip", dtype={"date": "string"})


def chicago_community_areas() -> gpd.GeoDataFrame:
    """The 77 community areas (EPSG:4326) with TOT_POP, WHITE, HISP, BLACK, ASIAN, OTHER."""
    import geopandas as gpd

    with _data("chicago_community_areas.geojson.gz").open("rb") as f:
        import gzip

        return gpd.read_file(gzip.GzipFile(fileobj=f))


def chicago_police_districts() -> gpd.GeoDataFrame:
    """The 25 police districts (EPSG:4326)."""
    import geopandas as gpd

    with _data("chicago_police_districts.geojson.gz").open("rb") as f:
        import gzip

        return gpd.read_file(gzip.GzipFile(fileobj=f))


def _chicago(frame: pd.DataFrame, areas: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None,
             cell_size: float, source: str, **kwargs: Any) -> CityData:
    region = Region.from_geodataframe(areas, name="Chicago community areas")
    kwargs.setdefault("duplicates", "keep")
    inc = Incidents.from_frame(
        frame, x="longitude", y="latitude", t="date", crs="EPSG:4326", tz=CHICAGO_TZ,
        category="loc_cat", default_origin="reported", region=region, source=source, **kwargs,
    )
    grid = Grid(region, cell_size=cell_size)
    pop = Population.from_geodataframe(areas, CHICAGO_GROUPS, grid, area_id="community")
    return CityData("Chicago", inc, region, grid, pop, areas, districts, list(CHICAGO_GROUPS), ATTRIBUTION)


def load_chicago(cell_size: float = 150.0, **kwargs: Any) -> CityData:
    """The bundled Chicago sample on a grid of ``cell_size`` metres.

    Aggravated assaults are treated as *reported* incidents (they come to police attention
    mostly through victims and witnesses; the data carry no origin field). Extra keyword
    arguments go to :meth:`Incidents.from_frame`.
    """
    return _chicago(chicago_incidents_frame(), chicago_community_areas(), chicago_police_districts(),
                    cell_size, "bundled Chicago aggravated assaults 2018-2019", **kwargs)


def _data_dir(data_dir: str | os.PathLike[str], name: str) -> Path:
    """``data_dir/name``, or a PlacewiseIOError saying in words what is missing."""
    from ..exceptions import PlacewiseIOError, param_error

    if not isinstance(data_dir, (str, os.PathLike)):
        raise param_error("data_dir", f"expected a directory path, got {type(data_dir).__name__}")
    d = Path(data_dir) / name
    if not d.is_dir():
        where = "does not exist" if not Path(data_dir).exists() else f"has no folder {name}"
        e = PlacewiseIOError(f"could not read the data set: the directory {os.fspath(data_dir)} {where}")
        e.filename = os.fspath(d)
        raise e
    return d


def read_chicago(data_dir: str | os.PathLike[str], cell_size: float = 150.0, **kwargs: Any) -> CityData:
    """The full Chicago set (2010–2019) from ``data_dir``/chicago_agg_assault_2010_2019."""
    import geopandas as gpd

    d = _data_dir(data_dir, "chicago_agg_assault_2010_2019")
    frame = pd.read_csv(d / "chicago_aggravated_assaults.csv.gz", dtype={"date": "string"})
    areas = gpd.read_file(d / "chicago_community_areas_2020.geojson")
    districts = gpd.read_file(d / "chicago_police_districts.kml")
    return _chicago(frame, areas, districts, cell_size, f"{d.name} (full data set)", **kwargs)


def normalise_name(name: str) -> str:
    """Toronto neighbourhood join key: lower case, drop any "(...)", keep letters a–z only."""
    return re.sub(r"[^a-z]", "", re.sub(r"\(.*?\)", "", str(name).lower()))


TORONTO_ALIASES = {"westonpellampark": "westonpelhampark"}


def toronto_incidents_frame(data_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Toronto MCI incidents (train + test concatenated) with the documented quirks handled.

    * ``occurrencedate`` is local midnight written in UTC; its first 10 characters are the
      local date, and ``occurrencehour`` the local hour (no minutes). The result has a
      ``local_time`` column ("YYYY-MM-DD HH:00", America/Toronto) built from those.
    * ``Neighbourhood`` names get a ``hood_key`` join key (see :func:`normalise_name`, with the
      "Weston-Pellam Park" alias).
    * The engineered ``Pub_Id``/``Park_Id``/``PS_Id`` columns are not read.
    """
    d = _data_dir(data_dir, "toronto_mci_2014_2021")
    cols = ["occurrencedate", "occurrencehour", "MCI", "premises_type", "Neighbourhood", "Lat", "Long"]
    parts = [pd.read_csv(d / f, usecols=cols, dtype={"occurrencedate": "string"}) for f in ("mci_train.csv.gz", "mci_test.csv.gz")]
    df = pd.concat(parts, ignore_index=True)
    hour = pd.to_numeric(df["occurrencehour"], errors="coerce")
    date = df["occurrencedate"].str[:10].str.replace("/", "-", regex=False)
    df["local_time"] = date + " " + hour.map(lambda h: f"{int(h):02d}:00" if pd.notna(h) and 0 <= h <= 23 else "")
    df.loc[hour.isna() | (hour < 0) | (hour > 23), "local_time"] = pd.NA
    key = df["Neighbourhood"].map(normalise_name)
    df["hood_key"] = key.replace(TORONTO_ALIASES)
    return df


def toronto_neighbourhoods(data_dir: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """The 140 neighbourhoods joined to the 2016 visible-minority counts (by normalised name)."""
    import geopandas as gpd

    d = _data_dir(data_dir, "toronto_mci_2014_2021")
    hoods = gpd.read_file(d / "neighbourhoods_historical_140_epsg4326.geojson")
    vm = pd.read_csv(d / "neighbourhood_visible_minority_2016.csv")
    hoods["hood_key"] = hoods["AREA_NAME"].map(normalise_name)
    vm["hood_key"] = vm["neighbourhood"].map(normalise_name)
    out = hoods.merge(vm, on="hood_key", how="left", validate="one_to_one")
    if out["population_2016"].isna().any():
        missing = list(out.loc[out["population_2016"].isna(), "AREA_NAME"])
        raise ValueError(f"neighbourhoods without census counts: {missing}")
    return out


def read_toronto(data_dir: str | os.PathLike[str], cell_size: float = 150.0, **kwargs: Any) -> CityData:
    """The full Toronto set (2014–2021) from ``data_dir``/toronto_mci_2014_2021.

    Category is the MCI type; origin is "reported" (the MCI categories are offences mostly
    reported by the public). Groups are the 2016 census visible-minority categories (a Canadian
    census construct, 25 % sample, randomly rounded).
    """
    frame = toronto_incidents_frame(data_dir)
    hoods = toronto_neighbourhoods(data_dir)
    region = Region.from_geodataframe(hoods, name="City of Toronto")
    kwargs.setdefault("duplicates", "keep")
    inc = Incidents.from_frame(
        frame, x="Long", y="Lat", t="local_time", crs="EPSG:4326", tz=TORONTO_TZ, category="MCI",
        default_origin="reported", region=region, source="toronto_mci_2014_2021 (full data set)",
        **kwargs,
    )
    grid = Grid(region, cell_size=cell_size)
    pop = Population.from_geodataframe(hoods, TORONTO_GROUPS, grid, area_id="AREA_NAME")
    return CityData("Toronto", inc, region, grid, pop, hoods, None, list(TORONTO_GROUPS), "Toronto Police Service MCI open data; City of Toronto Open Data (Open Government Licence – Toronto); Statistics Canada 2016 census")



def load_plainfield() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Plainfield, N.J. PredPol data (The Markup, BSD-3-Clause; see :data:`ATTRIBUTION`): the 35
    block groups (EPSG:4326) with ACS 2018 counts (``total_estimate``, ``white_alone``,
    ``latino_alone``, ``black_alone``, ``asian_alone``) and ``count`` of predictions, and the 570
    prediction box centres (``lat``, ``lon``, ``pred_count``)."""
    import gzip

    import geopandas as gpd

    with _data("plainfield_block_groups.geojson.gz").open("rb") as f:
        bg = gpd.read_file(gzip.GzipFile(fileobj=f))
    with _data("plainfield_prediction_boxes.csv").open("rb") as f:
        boxes = pd.read_csv(f)
    return bg, boxes


#: Point layers of ``chicago_risk_factors_2017`` read by :func:`read_chicago_risk_factors`.
CHICAGO_RISK_LAYERS = ("abandoned_buildings", "liquor_retail", "street_lights_out", "sanitation_complaints",
                       "bus_stops", "rail_stations", "schools")


def read_chicago_risk_factors(data_dir: str | os.PathLike[str], crs: Any = None) -> dict[str, gpd.GeoDataFrame]:
    """The Chicago risk-factor point layers (``data_dir``/chicago_risk_factors_2017), one
    GeoDataFrame of points per layer, in ``crs`` (default: lon/lat, EPSG:4326; pass
    ``city.grid.crs`` to use them with a grid).

    Layers: abandoned (vacant) buildings 2017, liquor retail licences, street lights all out
    2017, sanitation code complaints 2017 (311 requests), CTA bus stops, CTA 'L' stations (one
    point per station, ``MAP_ID``), Chicago Public Schools 2011–12. They are snapshots: using
    them for other years assumes the places did not move much (the data set's PROVENANCE.md
    says so too). Rows without coordinates are counted and dropped, with a warning naming the
    layer.
    """
    import gzip
    import warnings

    import geopandas as gpd

    from ..exceptions import PlacewiseWarning

    d = Path(data_dir) / "chicago_risk_factors_2017"
    out: dict[str, gpd.GeoDataFrame] = {}

    def geojson(name: str) -> gpd.GeoDataFrame:
        with gzip.open(d / name, "rb") as f:
            g = gpd.read_file(f)
        return g[["geometry"]].set_crs("EPSG:4326", allow_override=True)

    def points(name: str, lon: pd.Series, lat: pd.Series) -> gpd.GeoDataFrame:
        lon, lat = pd.to_numeric(lon, errors="coerce"), pd.to_numeric(lat, errors="coerce")
        ok = lon.notna() & lat.notna()
        if (~ok).any():
            warnings.warn(f"{name}: {int((~ok).sum())} rows without coordinates dropped", PlacewiseWarning, stacklevel=3)
        return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4326")

    out["abandoned_buildings"] = geojson("abandonBuildings.geojson.gz")
    out["liquor_retail"] = geojson("liquorRetail.geojson.gz")
    out["street_lights_out"] = geojson("streetLightsOut.geojson.gz")
    out["sanitation_complaints"] = geojson("sanitation.geojson.gz")
    bus = pd.read_csv(d / "cta_bus_stops.csv.gz", usecols=["the_geom"])
    xy = bus["the_geom"].str.extract(r"POINT \(([-0-9.]+) ([-0-9.]+)\)")
    out["bus_stops"] = points("bus_stops", xy[0], xy[1])
    rail = pd.read_csv(d / "cta_l_stops.csv.gz", usecols=["MAP_ID", "Location"]).drop_duplicates("MAP_ID")
    ll = rail["Location"].str.extract(r"\(([-0-9.]+),\s*([-0-9.]+)\)")
    out["rail_stations"] = points("rail_stations", ll[1], ll[0])
    sch = pd.read_csv(d / "chicago_public_schools_2011_12.csv.gz", usecols=["Latitude", "Longitude"],
                      encoding_errors="replace")
    out["schools"] = points("schools", sch["Longitude"], sch["Latitude"])
    for name, g in out.items():
        bad = g.geometry.isna() | g.geometry.is_empty
        if bad.any():
            warnings.warn(f"{name}: {int(bad.sum())} rows without geometry dropped", PlacewiseWarning, stacklevel=2)
            out[name] = g[~bad].reset_index(drop=True)
    if crs is not None:
        out = {k: v.to_crs(crs) for k, v in out.items()}
    return out


__all__ = [
    "ATTRIBUTION", "CHICAGO_RISK_LAYERS", "read_chicago_risk_factors", "load_plainfield", "CHICAGO_GROUPS", "TORONTO_GROUPS", "CityData", "chicago_incidents_frame",
    "chicago_community_areas", "chicago_police_districts", "load_chicago", "read_chicago",
    "read_toronto", "toronto_incidents_frame", "toronto_neighbourhoods", "normalise_name",
]

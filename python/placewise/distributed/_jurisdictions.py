"""Jurisdictions: what one audit in a multi-jurisdiction run reads, and how a worker loads it.

A :class:`Jurisdiction` names its data either as files (incidents as CSV or Parquet, optionally
one partition of a national Parquet data set through ``filters``; areas as any file geopandas
reads), as a data set placewise knows (``"chicago-sample"``, ``"chicago"``, ``"toronto"``), or as
a :class:`~placewise.datasets.CityData` already in memory (scattered to the cluster once). Files
are read by the worker that runs the jurisdiction, so only the small description is shipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .._config import read_tables, resolve
from ..exceptions import data_error, param_error

DATASETS = ("chicago-sample", "chicago", "toronto")

#: Chain settings a jurisdiction (or the config's [defaults]) may set; they go to
#: :func:`placewise.pipeline.run_chain`.
CHAIN_KEYS = ("at", "backtest_start", "models", "model", "units", "strategy", "reference", "tau", "policy",
              "override_reason", "override_by", "skip_audits", "feedback_rounds", "feedback_replicates", "seed", "title",
              "context", "deployment")


@dataclass
class Jurisdiction:
    """One jurisdiction's data and (optionally) its own chain settings.

    Files: ``incidents`` (CSV or Parquet; ``filters`` selects Parquet partitions, e.g.
    ``[("agency", "==", "X")]``), columns ``x``, ``y``, ``t`` (and optional ``category``,
    ``origin``), their ``crs`` and time zone ``tz``; ``region`` (polygons); ``population``
    (areas with the ``groups`` count columns; default: the region file) and ``area_id``.
    ``chain`` overrides the run-wide chain settings (``at``, ``units``, ``policy``…).
    """

    name: str
    dataset: str | None = None
    data_dir: str | None = None
    incidents: str | None = None
    filters: list[Any] | None = None
    x: str = "longitude"
    y: str = "latitude"
    t: str = "date"
    crs: str = "EPSG:4326"
    tz: str | None = None
    category: str | None = None
    origin: str | None = None
    origin_map: dict[str, str] | None = None
    default_origin: str | None = None
    region: str | None = None
    population: str | None = None
    groups: list[str] = field(default_factory=list)
    area_id: str | None = None
    cell_size: float = 150.0
    chain: dict[str, Any] = field(default_factory=dict)
    city: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise param_error("name", f"a jurisdiction needs a non-empty name, got {self.name!r}")
        sources = [s for s in (self.dataset, self.incidents, self.city) if s is not None]
        if len(sources) != 1:
            raise param_error(f"{self.name}: incidents", "give exactly one of `dataset`, `incidents` (a file) or `city`")
        if self.dataset is not None and self.dataset not in DATASETS:
            raise param_error(f"{self.name}: dataset", f"{self.dataset!r} is not one of {', '.join(DATASETS)}")
        if self.dataset in ("chicago", "toronto") and not self.data_dir:
            raise param_error(f"{self.name}: data_dir", f"the {self.dataset} data set needs `data_dir`")
        if self.incidents is not None and self.region is None:
            raise param_error(f"{self.name}: region", "incidents from a file need a `region` file")
        unknown = set(self.chain) - set(CHAIN_KEYS)
        if unknown:
            raise param_error(f"{self.name}: {sorted(unknown)[0]}", f"not a chain setting; known: {', '.join(CHAIN_KEYS)}")

    def files(self) -> list[tuple[str, str]]:
        """(field, path) of every file this jurisdiction reads."""
        out = [(k, getattr(self, k)) for k in ("incidents", "region", "population") if getattr(self, k)]
        if self.data_dir:
            out.append(("data_dir", self.data_dir))
        return out

    def check_files(self) -> None:
        """Raises, naming the jurisdiction, field and path, when a file is missing."""
        for key, p in self.files():
            if not Path(p).exists():
                raise param_error(f"{self.name}: {key}", f"no such file or folder: {p}")


def _columns_of(path: Path) -> list[str]:
    s = "".join(path.suffixes).lower()
    if s.endswith((".parquet", ".pq")) or path.is_dir():
        import pyarrow.parquet as pq

        return list(pq.ParquetDataset(path).schema.names)
    import pandas as pd

    return list(pd.read_csv(path, nrows=0).columns)


def _read_incidents(j: Jurisdiction, cols: list[str]) -> Any:
    import pandas as pd

    p = Path(j.incidents)  # type: ignore[arg-type]
    have = _columns_of(p)
    for c in cols:
        if c not in have:
            raise data_error(None, c, f"not in {p} ({j.name}); columns there: {', '.join(map(str, have))}")
    s = "".join(p.suffixes).lower()
    if s.endswith((".parquet", ".pq")) or p.is_dir():
        return pd.read_parquet(p, columns=cols, filters=j.filters)
    if j.filters:
        raise param_error(f"{j.name}: filters", "apply only to Parquet incidents")
    return pd.read_csv(p, usecols=cols, dtype={j.t: "string"})


def _read_areas(j: Jurisdiction, path: str, needed: list[str]) -> Any:
    import geopandas as gpd

    if str(path).lower().endswith(".gz"):
        import gzip

        with gzip.open(path, "rb") as f:
            gdf = gpd.read_file(f)
    else:
        gdf = gpd.read_file(path)
    for c in needed:
        if c not in gdf.columns:
            raise data_error(None, c, f"not in {path} ({j.name}); columns there: {', '.join(map(str, gdf.columns))}")
    return gdf


def load(j: Jurisdiction) -> Any:
    """The jurisdiction's :class:`~placewise.datasets.CityData` (runs on a worker)."""
    from .. import datasets
    from ..data import Incidents
    from ..space import Grid, Population, Region

    if j.city is not None:
        return j.city
    if j.dataset == "chicago-sample":
        return datasets.load_chicago(cell_size=j.cell_size)
    if j.dataset == "chicago":
        return datasets.read_chicago(j.data_dir, cell_size=j.cell_size)  # type: ignore[arg-type]
    if j.dataset == "toronto":
        return datasets.read_toronto(j.data_dir, cell_size=j.cell_size)  # type: ignore[arg-type]
    j.check_files()
    region_layer = _read_areas(j, j.region, [])  # type: ignore[arg-type]
    region = Region.from_geodataframe(region_layer, name=j.name)
    grid = Grid(region, cell_size=j.cell_size)
    cols = [c for c in (j.x, j.y, j.t, j.category, j.origin) if c]
    df = _read_incidents(j, cols)
    kw: dict[str, Any] = {"tz": j.tz, "category": j.category, "origin": j.origin, "region": region, "source": j.incidents}
    if j.origin_map:
        kw["origin_map"] = dict(j.origin_map)
    if j.default_origin:
        kw["default_origin"] = j.default_origin
    inc = Incidents.from_frame(df, x=j.x, y=j.y, t=j.t, crs=j.crs, **kw)
    areas = _read_areas(j, j.population, list(j.groups) + ([j.area_id] if j.area_id else [])) if j.population else region_layer
    if not j.groups:
        raise param_error(f"{j.name}: groups", "name the population group columns (the audit needs them)")
    pop = Population.from_geodataframe(areas, list(j.groups), grid, area_id=j.area_id)
    return datasets.CityData(j.name, inc, region, grid, pop, areas, None, list(j.groups), "")


def read_config(path: str | os.PathLike[str]) -> tuple[list[Jurisdiction], dict[str, Any]]:
    """Jurisdictions and run-wide chain settings from a TOML file.

    ``[defaults]`` holds chain settings (``at``, ``units``, ``policy``…) and jurisdiction fields
    (``cell_size``, ``crs``, ``tz``…) shared by all; each ``[[jurisdiction]]`` table has a
    ``name`` and its data, and may repeat any default to override it. Relative paths are read
    from the config file's folder.
    """
    defaults, entries, base = read_tables(path)
    jfields = {f.name for f in fields(Jurisdiction)} - {"chain", "city"}

    chain_defaults = {k: v for k, v in defaults.items() if k in CHAIN_KEYS}
    j_defaults = {k: v for k, v in defaults.items() if k in jfields}
    bad = set(defaults) - set(chain_defaults) - set(j_defaults)
    if bad:
        raise param_error(f"config: defaults.{sorted(bad)[0]}", "unknown setting")
    def resolve_policy(v: Any) -> Any:  # "default" (the packaged policy) and "none" are not paths
        return v if isinstance(v, str) and v.lower() in ("default", "none") else resolve(base, v)

    if "policy" in chain_defaults:
        chain_defaults["policy"] = resolve_policy(chain_defaults["policy"])
    if "deployment" in chain_defaults:  # a deployment record (TOML) for the report's crosswalk
        chain_defaults["deployment"] = resolve(base, chain_defaults["deployment"])
    out: list[Jurisdiction] = []
    for entry in entries:
        name = entry["name"]
        kw = {**j_defaults, **{k: v for k, v in entry.items() if k in jfields}}
        chain = {k: v for k, v in entry.items() if k in CHAIN_KEYS}
        extra = set(entry) - jfields - set(CHAIN_KEYS)
        if extra:
            raise param_error(f"config: {name}.{sorted(extra)[0]}", "unknown setting")
        for k in ("incidents", "region", "population", "data_dir"):
            if k in kw:
                kw[k] = resolve(base, kw[k])
        if "policy" in chain:
            chain["policy"] = resolve_policy(chain["policy"])
        if "deployment" in chain:
            chain["deployment"] = resolve(base, chain["deployment"])
        if "filters" in kw and kw["filters"] is not None:
            kw["filters"] = [tuple(f) for f in kw["filters"]]
        out.append(Jurisdiction(**kw, chain=chain))
    return out, chain_defaults

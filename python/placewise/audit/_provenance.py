"""Data provenance audit: how the training incidents came to police attention."""

from __future__ import annotations

import html
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._jsonable import jsonable
from ..exceptions import DataQualityWarning, param_error

ORIGINS = ("reported", "discovered", "unknown")


class DataProvenanceAudit:
    """Result of :func:`data_provenance`.

    ``overall`` (counts and shares by origin), ``by_area`` and ``by_group`` (DataFrames with a
    count per origin and ``discovered_share``; groups are population-weighted: an incident in
    cell c counts for group g in proportion to g's share of c's residents), ``categories``
    (count and share per category, ``dominant`` flagged), ``quality`` (geocoding spikes, time
    heaping, duplicates from the ingest report) and ``warnings`` (plain sentences).
    """

    def __init__(self, **kw: Any) -> None:
        self.n_incidents: int = kw["n_incidents"]
        self.overall: pd.Series = kw["overall"]
        self.discovered_share: float = kw["discovered_share"]
        self.by_area: pd.DataFrame | None = kw["by_area"]
        self.by_group: pd.DataFrame | None = kw["by_group"]
        self.unpopulated_incidents: float | None = kw["unpopulated_incidents"]
        self.categories: pd.DataFrame = kw["categories"]
        self.quality: dict[str, Any] = kw["quality"]
        self.warnings: list[str] = kw["warnings"]

    def summary(self) -> dict[str, Any]:
        """The data section a policy checks."""
        return jsonable({"discovered_share": self.discovered_share, "n_incidents": self.n_incidents,
                         "warnings": self.warnings})

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "n_incidents": self.n_incidents,
                "overall": self.overall.to_dict(),
                "discovered_share": self.discovered_share,
                "by_area": None if self.by_area is None else self.by_area.reset_index().to_dict(orient="records"),
                "by_group": None if self.by_group is None else self.by_group.reset_index().to_dict(orient="records"),
                "unpopulated_incidents": self.unpopulated_incidents,
                "categories": self.categories.reset_index().to_dict(orient="records"),
                "quality": self.quality,
                "warnings": self.warnings,
            }
        )

    def __repr__(self) -> str:
        shares = ", ".join(f"{o} {self.overall[o + '_share']:.1%}" for o in ORIGINS)
        w = "".join(f"\n  ! {x}" for x in self.warnings)
        return f"DataProvenanceAudit({self.n_incidents:,} incidents: {shares}){w}"

    def _repr_html_(self) -> str:
        parts = [f"<div><b>Data provenance</b> — {self.n_incidents:,} incidents",
                 self.overall.to_frame("value").to_html(float_format=lambda v: f"{v:.3g}")]
        if self.by_group is not None:
            parts.append("<b>by group (population-weighted)</b>" + self.by_group.to_html(float_format=lambda v: f"{v:.3g}"))
        parts.append("<b>categories</b>" + self.categories.head(10).to_html(float_format=lambda v: f"{v:.3g}"))
        if self.warnings:
            parts.append("<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings) + "</ul>")
        return "".join(parts) + "</div>"


def _origin_table(codes: np.ndarray, weights: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """(n, 3) weighted counts of origins per index value (index −1 is skipped)."""
    out = np.zeros((n, 3))
    ok = index >= 0
    for o in range(3):
        sel = ok & (codes == o)
        out[:, o] = np.bincount(index[sel], weights=weights[sel], minlength=n)
    return out


def _frame(tab: np.ndarray, labels: list[Any], name: str) -> pd.DataFrame:
    df = pd.DataFrame(tab, columns=list(ORIGINS), index=pd.Index(labels, name=name))
    tot = df.sum(axis=1)
    df["total"] = tot
    with np.errstate(invalid="ignore", divide="ignore"):
        df["discovered_share"] = np.where(tot > 0, df["discovered"] / tot.where(tot > 0, 1), np.nan)
        known = df["reported"] + df["discovered"]
        df["discovered_share_of_known"] = np.where(known > 0, df["discovered"] / known.where(known > 0, 1), np.nan)
    return df


def data_provenance(
    incidents: Any,
    population: Any = None,
    areas: Any = None,
    area_id: str | None = None,
    dominant_share: float = 0.5,
    warn: bool = True,
) -> DataProvenanceAudit:
    """How the incidents a model would train on came to police attention.

    Reports the share of *discovered* (found by police activity: stops, drug and weapon
    arrests), *reported* and *unknown* incidents overall, by area (``areas``: a GeoDataFrame of
    polygons, ``area_id`` naming them; each incident belongs to the polygon containing it) and
    by group (``population``: an incident in cell c counts for each group in proportion to its
    share of c's residents). Discovered incidents grow where patrols go, so a model trained on
    them learns where police looked (Lum & Isaac 2016; Ensign et al. 2018): any discovered
    share gives a warning (a :class:`~placewise.exceptions.DataQualityWarning` when ``warn``).
    Also lists geocoding spikes, time heaping and duplicates from ``incidents.quality`` and the
    categories, flagging any with at least ``dominant_share`` of the incidents.
    """
    if not (hasattr(incidents, "_native") and hasattr(incidents, "quality")):
        raise param_error("incidents", f"expected placewise.Incidents, got {type(incidents).__name__}")
    if not 0 < dominant_share <= 1:
        raise param_error("dominant_share", f"must lie in (0, 1], got {dominant_share}")
    nat = incidents._native
    n = len(incidents)
    codes = np.asarray(nat.origin, dtype=np.int64)
    w = np.ones(n) if nat.weight is None else np.asarray(nat.weight, dtype=np.float64)
    counts = np.array([w[codes == o].sum() for o in range(3)])
    total = counts.sum()
    shares = counts / total if total > 0 else np.full(3, np.nan)
    overall = pd.Series({**{o: counts[i] for i, o in enumerate(ORIGINS)}, **{o + "_share": shares[i] for i, o in enumerate(ORIGINS)}})
    discovered_share = float(shares[1]) if n else float("nan")
    messages: list[str] = []
    if n and counts[1] > 0:
        messages.append(
            f"{shares[1]:.1%} of the incidents were discovered by police activity; a model trained on them learns "
            "where police looked, not only where crime is (train on reported incidents, or apply the Ensign "
            "correction, and run a feedback audit)"
        )
    if n and shares[2] > 0.5:
        messages.append(
            f"{shares[2]:.1%} of the incidents have an unknown origin; the share of discovered incidents cannot "
            "be bounded from these data"
        )

    by_area = None
    if areas is not None:
        import geopandas as gpd

        if area_id is not None and area_id not in areas.columns:
            raise param_error("area_id", f"column {area_id!r} is not in the layer")
        if areas.crs is None:
            raise param_error("areas", "the layer has no CRS; set one with set_crs()")
        layer = areas.to_crs(incidents.crs).reset_index(drop=True)
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(incidents.x, incidents.y), crs=incidents.crs)
        joined = gpd.sjoin(pts, layer[[layer.geometry.name]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        idx = joined["index_right"].fillna(-1).to_numpy(dtype=np.int64)
        labels = list(layer[area_id]) if area_id else list(range(len(layer)))
        by_area = _frame(_origin_table(codes, w, idx, len(layer)), labels, "area")
        outside = int((idx < 0).sum())
        if outside:
            messages.append(f"{outside:,} incidents lie in no area of the layer")

    by_group = None
    unpopulated = None
    if population is not None:
        grid = population.grid
        cell = np.asarray(grid.cell_of(incidents.x, incidents.y), dtype=np.int64)
        pc = np.asarray(population.counts, dtype=np.float64)
        tot = pc.sum(axis=1)
        ok = cell >= 0
        ok[ok] = tot[cell[ok]] > 0
        unpopulated = float(w[~ok].sum())
        share = np.zeros((n, pc.shape[1]))
        share[ok] = pc[cell[ok]] / tot[cell[ok], None]
        tab = np.zeros((len(population.groups), 3))
        for o in range(3):
            sel = codes == o
            tab[:, o] = (share[sel] * w[sel, None]).sum(axis=0)
        by_group = _frame(tab, list(population.groups), "group")

    cats = list(incidents.categories)
    ccodes = np.asarray(nat.category, dtype=np.int64)
    cc = np.bincount(ccodes, weights=w, minlength=len(cats)) if n else np.zeros(len(cats))
    categories = pd.DataFrame({"count": cc, "share": cc / cc.sum() if cc.sum() > 0 else np.nan}, index=pd.Index(cats, name="category"))
    categories = categories.sort_values("count", ascending=False)
    categories["dominant"] = categories["share"] >= dominant_share
    for c, row in categories[categories["dominant"]].iterrows():
        messages.append(f"category {c!r} holds {row['share']:.1%} of the incidents; the map will mostly reflect it")

    q = incidents.quality
    spikes = q.spikes
    quality = {
        "spikes": len(spikes),
        "spike_share": float(spikes["share"].sum()) if len(spikes) else 0.0,
        "spike_rule": q.spike_rule,
        "heaping": q.heaping,
        "duplicate_rows": q.duplicate_rows,
        "rows_dropped": q.rows_dropped,
    }
    if len(spikes):
        messages.append(
            f"{len(spikes)} geocoding spikes (single points holding unusually many incidents) hold "
            f"{quality['spike_share']:.1%} of the incidents; hotspots there may be artefacts of geocoding"
        )
    h = q.heaping
    if h and h.get("expected_exact_minute") and h["share_midnight"] > max(5 * h["expected_exact_minute"], 0.01):
        messages.append(
            f"time heaping: {h['share_midnight']:.1%} of the incidents are at exactly 00:00 "
            f"(uniform times would give {h['expected_exact_minute']:.2%}); recorded times of day are partly defaults"
        )
    if warn and n and counts[1] > 0:
        warnings.warn(messages[0], DataQualityWarning, stacklevel=2)
    return DataProvenanceAudit(
        n_incidents=n, overall=overall, discovered_share=discovered_share, by_area=by_area, by_group=by_group,
        unpopulated_incidents=unpopulated, categories=categories, quality=quality, warnings=messages,
    )

"""Targeting audit of any system's output (PredPol/Geolitica boxes, ShotSpotter missions, an
in-house tool, placewise itself): who lives in the areas it targets most, at the median, and
least, following The Markup's 2021 method; the share of each group living above the median
count; deciles of count with their composition; the correlation of counts with recorded crime.

The ranking, windows, shares and permutation test run in the Rust core
(``placewise._native.targeting``); this module reads the inputs (points or polygons with counts
in any CRS, or counts per area), assigns them to areas, accounts for every box, and builds
tables and a one-page datasheet.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import _native
from .._crs import as_crs, is_metric_projected, target_for
from ..exceptions import data_error, param_error

WINDOW_NAMES = ("most", "median", "least")
WINDOW_LABELS = {"most": "most targeted", "median": "median targeted", "least": "least targeted"}

METHOD = (
    "Areas are ranked by count (most first), ties broken by population (largest first). With n areas "
    "and w = round(5 % × n) (round half to even), the most targeted window holds ranks n−w … n, the "
    "median window ranks ⌊n/2⌋−⌊w/2⌋ … ⌊n/2⌋+⌊w/2⌋ and the least targeted window ranks 1 … 1+w, as in "
    "The Markup's rank-and-label.R (bounds inclusive). When more areas than w share the lowest count, "
    "the least targeted window covers all of them (rule 'all_minimum'; rule 'markup' keeps the w+1 most "
    "populous of them, as in The Markup's published figures). A group's share of a window is its people "
    "in the window's areas over all residents of those areas. The permutation test shuffles the counts "
    "across areas (populations fixed) and recomputes the windows: its p-value is the chance of a share "
    "at least as high under random targeting, and its critical value the smallest excess the test could "
    "have detected (5 % one-sided). The one-sided p-values of every window and group, in both directions, "
    "form one family corrected for multiple testing (Holm's step-down method by default, which controls the "
    "chance of any false finding under any dependence); readings use the corrected p-values, and the "
    "cross-jurisdiction summary corrects again over all jurisdictions' tests. Lower and upper bounds repeat the shares with population estimates "
    "minus and plus their margins of error (windows fixed by the estimates)."
)


@dataclass(frozen=True, eq=False)
class BoxAccounting:
    """What happened to every prediction box (or count row): ``rows_read == rows_assigned +
    rows_outside + rows_invalid`` and the same for counts."""

    rows_read: int
    rows_assigned: int
    rows_outside: int
    rows_split: int
    count_read: float
    count_assigned: float
    count_outside: float
    areas_without_population: tuple[Any, ...]

    def summary(self) -> str:
        from ..report._format import number, of

        lines = [f"{number(self.rows_read)} prediction rows read holding {number(self.count_read)} predictions",
                 f"  assigned to an area: {of(self.rows_assigned, self.rows_read)} rows, {of(self.count_assigned, self.count_read)} predictions"]
        if self.rows_outside:
            lines.append(f"  outside every area (counted, not used): {number(self.rows_outside)} "
                         f"row{'s' if self.rows_outside != 1 else ''}, "
                         f"{number(self.count_outside)} predictions")
        if self.rows_split:
            lines.append(f"  boxes split across areas by overlapping area: {number(self.rows_split)}")
        if self.areas_without_population:
            lines.append(f"  areas without residents (kept; they weigh nothing in shares): {len(self.areas_without_population)}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class TargetingAudit:
    """The targeting audit of one jurisdiction. Frozen and picklable.

    ``areas``: one row per area (id, count, population, groups, rank, decile, window).
    ``windows``: one row per window and group: share, jurisdiction share, difference,
    relative increase, permutation p-values and detectable differences, and the shares under
    the lower and upper population bounds when margins were given.
    ``above_median``, ``deciles``, ``correlation`` (or None), ``accounting``.
    """

    jurisdiction: str
    period: str
    groups: tuple[str, ...]
    areas: pd.DataFrame
    windows: pd.DataFrame
    above_median: pd.DataFrame
    deciles: pd.DataFrame
    correlation: pd.DataFrame | None
    accounting: BoxAccounting
    window_size: int
    params: Mapping[str, Any] = field(default_factory=dict)
    geometry: Any = None  # areas as a GeoDataFrame in a metric CRS (for maps), or None

    def share(self, window: str, group: str, bound: str = "estimate") -> float:
        """A group's share of a window's residents (``bound``: estimate, lower, upper)."""
        row = self.windows[(self.windows["window"] == window) & (self.windows["group"] == group)]
        if not len(row):
            raise param_error("window, group", f"no row for window {window!r} and group {group!r}")
        col = {"estimate": "share", "lower": "share_lower", "upper": "share_upper"}[bound]
        return float(row[col].iloc[0])

    def summary(self) -> dict[str, Any]:
        """Headline numbers as plain JSON-ready data."""
        from .._jsonable import jsonable

        most = self.windows[self.windows["window"] == "most"]
        return jsonable({
            "jurisdiction": self.jurisdiction,
            "period": self.period,
            "areas": int(len(self.areas)),
            "window_size": self.window_size,
            "predictions": float(self.areas["count"].sum()),
            "groups_higher_in_most_targeted": [g for g, d in zip(most["group"], most["difference"]) if d > 0],
            "relative_increase_most_targeted": dict(zip(most["group"], most["relative_increase"])),
            "boxes_outside_every_area": self.accounting.rows_outside,
        })

    def to_dict(self) -> dict[str, Any]:
        from .._jsonable import jsonable

        return jsonable({
            "jurisdiction": self.jurisdiction,
            "period": self.period,
            "groups": list(self.groups),
            "window_size": self.window_size,
            "params": dict(self.params),
            "accounting": self.accounting.__dict__,
            "windows": self.windows.to_dict(orient="records"),
            "above_median": self.above_median.to_dict(orient="records"),
            "deciles": self.deciles.to_dict(orient="records"),
            "correlation": None if self.correlation is None else self.correlation.to_dict(orient="records"),
            "areas": self.areas.drop(columns=[c for c in self.areas.columns if c == "geometry"]).to_dict(orient="records"),
        })

    def datasheet(self, path: str | os.PathLike[str] | None = None, format: str = "html") -> str:
        """A one-page datasheet (``format``: ``"html"`` or ``"markdown"``), like The Markup's."""
        from ._datasheet import datasheet_html, datasheet_markdown

        if format not in ("html", "markdown"):
            raise param_error("format", f"must be 'html' or 'markdown', got {format!r}")
        text = datasheet_html(self) if format == "html" else datasheet_markdown(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def __repr__(self) -> str:
        most = self.windows[self.windows["window"] == "most"]
        parts = ", ".join(f"{g} {s:.1%} vs {o:.1%}" for g, s, o in zip(most["group"], most["share"], most["overall"]))
        return (f"<TargetingAudit {self.jurisdiction}: {len(self.areas)} areas, windows of {self.window_size + 1}; "
                f"most targeted: {parts}>")

    def _repr_html_(self) -> str:
        from ..report._format import percent, points

        rows = "".join(
            f"<tr><td>{html.escape(str(r.group))}</td><td>{WINDOW_LABELS[r.window]}</td><td>{percent(r.share)}</td>"
            f"<td>{percent(r.overall)}</td><td>{points(r.difference)}</td></tr>"
            for r in self.windows.itertuples()
        )
        return (f"<div><b>Targeting audit: {html.escape(self.jurisdiction)}</b> ({html.escape(self.period)})"
                "<table><tr><th>group</th><th>window</th><th>share of residents</th><th>jurisdiction</th>"
                f"<th>difference</th></tr>{rows}</table></div>")


# ----------------------------------------------------------------------------- inputs
def _column(df: pd.DataFrame, col: str, param: str) -> None:
    if col not in df.columns:
        raise param_error(param, f"column {col!r} is not in the table; available: {', '.join(map(str, df.columns))}")


def _numbers(df: pd.DataFrame, col: str, *, allow_nan: bool = False) -> np.ndarray:
    raw = df[col]
    v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(v) & raw.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise data_error(i, col, f"{raw.iloc[i]!r} is not a number")
    if not allow_nan and np.isnan(v).any():
        i = int(np.flatnonzero(np.isnan(v))[0])
        raise data_error(i, col, "missing value")
    if np.isinf(v).any():
        i = int(np.flatnonzero(np.isinf(v))[0])
        raise data_error(i, col, "infinite value")
    neg = v < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise data_error(i, col, f"must be ≥ 0, got {v[i]:g}")
    return v


def _metric(gdf: Any) -> Any:
    """``gdf`` in a metric CRS (its own when projected in metres, else the local UTM zone)."""
    if gdf.crs is None:
        raise param_error("areas", "the layer has no CRS; set one with set_crs()")
    src = as_crs(gdf.crs)
    if is_metric_projected(src):
        return gdf
    b = gdf.to_crs("EPSG:4326").total_bounds
    target = target_for(as_crs("EPSG:4326"), np.array([b[0], b[2]]), np.array([b[1], b[3]]))
    return gdf.to_crs(target)


def _assign_points(points: Any, areas_m: Any) -> tuple[np.ndarray, int]:
    """Area position (0…n−1, −1 outside) of every point; points on a shared boundary go to the
    first area that holds them."""
    import geopandas as gpd

    pts = points.to_crs(areas_m.crs)
    left = gpd.GeoDataFrame({"__pt": np.arange(len(pts))}, geometry=pts.geometry.to_numpy(), crs=areas_m.crs)
    right = gpd.GeoDataFrame({"__area": np.arange(len(areas_m))}, geometry=areas_m.geometry.to_numpy(), crs=areas_m.crs)
    j = gpd.sjoin(left, right, how="left", predicate="intersects")
    j = j.sort_values(["__pt", "__area"]).drop_duplicates("__pt", keep="first")
    out = j.set_index("__pt")["__area"].reindex(np.arange(len(pts))).to_numpy()
    out = np.where(np.isnan(out.astype(float)), -1, out).astype(np.int64)
    return out, 0


def _polygon_shares(boxes: Any, areas_m: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For polygon boxes: (box index, area position, share of the box's area) of each overlap."""
    import geopandas as gpd

    b = boxes.to_crs(areas_m.crs)
    left = gpd.GeoDataFrame({"__box": np.arange(len(b)), "__a": b.geometry.area.to_numpy()},
                            geometry=b.geometry.to_numpy(), crs=areas_m.crs)
    right = gpd.GeoDataFrame({"__area": np.arange(len(areas_m))}, geometry=areas_m.geometry.to_numpy(), crs=areas_m.crs)
    ov = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    share = np.where(ov["__a"].to_numpy() > 0, ov.geometry.area.to_numpy() / ov["__a"].to_numpy(), 0.0)
    return ov["__box"].to_numpy(np.int64), ov["__area"].to_numpy(np.int64), share


def _counts_from_predictions(predictions: Any, areas: pd.DataFrame, areas_m: Any, ids: np.ndarray, *,
                             count: str | None, area_id: str | None, x: str | None, y: str | None,
                             crs: Any) -> tuple[np.ndarray, BoxAccounting]:
    n = len(areas)
    if isinstance(predictions, pd.Series):
        s = predictions
        unknown = ~pd.Index(s.index).isin(ids)
        if unknown.any():
            raise data_error(int(np.flatnonzero(unknown)[0]), "index", f"area {s.index[unknown][0]!r} is not among the areas")
        v = _numbers(s.to_frame("count"), "count")
        c = pd.Series(v, index=s.index).groupby(level=0).sum().reindex(ids, fill_value=0.0).to_numpy(np.float64)
        return c, BoxAccounting(len(s), len(s), 0, 0, float(v.sum()), float(v.sum()), 0.0, ())
    if not isinstance(predictions, pd.DataFrame):
        raise param_error("predictions", f"expected a GeoDataFrame, a DataFrame or a Series of counts per area, "
                          f"got {type(predictions).__name__}")
    df = predictions
    if len(df) == 0:
        raise param_error("predictions", "the table has no rows")
    if count is not None:
        _column(df, count, "count")
        w = _numbers(df, count)
    else:
        w = np.ones(len(df))
    has_geom = hasattr(df, "geometry") and getattr(df, "_geometry_column_name", None) in df.columns
    if not has_geom and x is None and area_id is not None and area_id in df.columns:
        # counts per area
        a = df[area_id].to_numpy()
        pos = pd.Index(ids).get_indexer(a)
        if (pos < 0).any() and pd.api.types.is_numeric_dtype(df[area_id]) and not pd.api.types.is_numeric_dtype(ids):
            # ids read as numbers from a CSV against text ids of the areas (GeoJSON): compare as text
            pos = pd.Index(ids.astype(str)).get_indexer(a.astype(str))
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            raise data_error(i, area_id, f"area {a[i]!r} is not among the areas")
        c = np.bincount(pos, weights=w, minlength=n).astype(np.float64)
        return c, BoxAccounting(len(df), len(df), 0, 0, float(w.sum()), float(w.sum()), 0.0, ())
    if areas_m is None:
        raise param_error("areas", "boxes given as points or polygons need area polygons (a GeoDataFrame)")
    import geopandas as gpd

    if not has_geom:
        if x is None or y is None:
            raise param_error("x, y", "name the coordinate columns of the boxes (or pass a GeoDataFrame, "
                              "or counts per area with area_id=)")
        _column(df, x, "x")
        _column(df, y, "y")
        xs = pd.to_numeric(df[x], errors="coerce").to_numpy(np.float64)
        ys = pd.to_numeric(df[y], errors="coerce").to_numpy(np.float64)
        bad = ~(np.isfinite(xs) & np.isfinite(ys))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise data_error(i, f"{x}/{y}", "missing or non-numeric coordinate")
        df = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xs, ys), crs=as_crs(crs if crs is not None else "EPSG:4326"))
    elif df.crs is None:
        raise param_error("predictions", "the GeoDataFrame has no CRS; set one with set_crs()")
    types = set(df.geometry.geom_type.dropna())
    c = np.zeros(n)
    if types <= {"Point"}:
        pos, _ = _assign_points(df, areas_m)
        inside = pos >= 0
        np.add.at(c, pos[inside], w[inside])
        acc = BoxAccounting(len(df), int(inside.sum()), int((~inside).sum()), 0, float(w.sum()),
                            float(w[inside].sum()), float(w[~inside].sum()), ())
        return c, acc
    if types <= {"Polygon", "MultiPolygon"}:
        box, area, share = _polygon_shares(df, areas_m)
        np.add.at(c, area, w[box] * share)
        covered = np.bincount(box, weights=share, minlength=len(df))
        outside_count = float((w * np.clip(1.0 - covered, 0.0, 1.0)).sum())
        pieces = np.bincount(box, minlength=len(df))
        acc = BoxAccounting(len(df), int((pieces > 0).sum()), int((pieces == 0).sum()), int((pieces > 1).sum()),
                            float(w.sum()), float(c.sum()), outside_count, ())
        return c, acc
    raise param_error("predictions", f"geometries must be all points or all polygons, got {sorted(types)}")


def _recorded_counts(recorded: Any, areas: pd.DataFrame, areas_m: Any, ids: np.ndarray, area_id: str | None) -> np.ndarray:
    """Counts per area of a recorded measure: a Series per area id, or points."""
    if isinstance(recorded, pd.Series):
        return recorded.groupby(level=0).sum().reindex(ids, fill_value=0.0).to_numpy(np.float64)
    if isinstance(recorded, str):
        _column(areas, recorded, "recorded")
        return _numbers(areas, recorded)
    c, _ = _counts_from_predictions(recorded, areas, areas_m, ids, count=None, area_id=area_id, x=None, y=None, crs=None)
    return c


def _bounds(areas: pd.DataFrame, cols: Sequence[str], margins: Mapping[str, Any] | None,
            bounds: Mapping[str, tuple[str, str]] | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    if margins is None and bounds is None:
        return None
    lo: dict[str, np.ndarray] = {}
    hi: dict[str, np.ndarray] = {}
    for c in cols:
        est = _numbers(areas, c)
        if bounds is not None and c in bounds:
            lc, hc = bounds[c]
            _column(areas, lc, "bounds")
            _column(areas, hc, "bounds")
            lv, hv = _numbers(areas, lc), _numbers(areas, hc)
        elif margins is not None and c in margins:
            mc = margins[c]
            _column(areas, mc, "margins")
            m = _numbers(areas, mc)
            lv, hv = np.clip(est - m, 0.0, None), est + m
        else:
            lv, hv = est, est
        bad = lv > hv
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise data_error(i, c, f"lower bound {lv[i]:g} is above upper bound {hv[i]:g}")
        lo[c], hi[c] = lv, hv
    unknown = set(margins or {}) | set(bounds or {})
    unknown -= set(cols)
    if unknown:
        raise param_error("margins", f"columns {sorted(unknown)} are not population columns of this audit")
    return lo, hi


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    p = stats.pearsonr(a, b)
    s = stats.spearmanr(a, b)
    return float(p.statistic), float(s.statistic)


def targeting(
    predictions: Any,
    areas: Any,
    *,
    groups: Sequence[str],
    total: str | None = None,
    area_id: str | None = None,
    count: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    names: str | None = None,
    margins: Mapping[str, str] | None = None,
    bounds: Mapping[str, tuple[str, str]] | None = None,
    recorded: Mapping[str, Any] | None = None,
    jurisdiction: str = "jurisdiction",
    period: str | None = None,
    window_share: float = 0.05,
    least: str = "all_minimum",
    permutations: int = 999,
    confidence: float = 0.95,
    seed: int = 0,
    correction: str | None = "holm",
) -> TargetingAudit:
    """Audit any system's targeting of areas.

    Parameters
    ----------
    predictions
        The system's output over the stated ``period``: a GeoDataFrame of box centres (points)
        or box polygons in any CRS, a DataFrame of points with ``x``/``y`` columns in ``crs``
        (default lon/lat), a DataFrame of counts per area (``area_id`` and ``count`` columns), a
        Series of counts indexed by area id, or ``None`` to read ``count`` from ``areas``.
        Polygon boxes are split between areas by overlapping area. Boxes outside every area are
        counted in ``accounting`` and left out.
    areas
        One row per area with population columns (a GeoDataFrame when the boxes are points or
        polygons).
    groups, total
        Population columns of each group, and of all residents (default: the sum of the groups).
    margins, bounds
        Optional uncertainty of the population columns: ``margins={"black_alone": "black_moe"}``
        (lower = estimate − margin, at least 0; upper = estimate + margin), or explicit
        ``bounds={"black_alone": ("black_lo", "black_hi")}``; a lower bound above the upper one
        raises. The shares are recomputed under the lower and the upper bounds.
    recorded
        Recorded measures to correlate with the counts: ``{"crime": points or Series per area or
        a column of areas}``.
    window_share, least
        Window size as a share of areas (The Markup: 0.05) and the least-window rule
        (``"all_minimum"`` or ``"markup"``).
    permutations, confidence, seed
        The permutation test of each window's shares against random targeting.
    correction
        Multiple-testing correction of the family of one-sided p-values (every window × group,
        both directions): ``"holm"`` (default; family-wise error rate under any dependence),
        ``"fdr_bh"`` or ``None``. ``windows`` holds raw (``p_higher``, ``p_lower``) and adjusted
        (``p_higher_adjusted``, ``p_lower_adjusted``) p-values; readings use the adjusted ones.
    """
    if not isinstance(areas, pd.DataFrame):
        raise param_error("areas", f"expected a (Geo)DataFrame of areas, got {type(areas).__name__}")
    if isinstance(groups, str) or not len(groups):
        raise param_error("groups", "give a list of population columns, one per group")
    groups = list(groups)
    for g in groups:
        _column(areas, g, "groups")
    if total is not None:
        _column(areas, total, "total")
    if area_id is not None:
        _column(areas, area_id, "area_id")
    if names is not None:
        _column(areas, names, "names")
    areas = areas.reset_index(drop=True)
    ids = areas[area_id].to_numpy() if area_id is not None else np.arange(len(areas))
    if pd.Index(ids).has_duplicates:
        dup = pd.Index(ids)[pd.Index(ids).duplicated()][0]
        raise data_error(int(np.flatnonzero(ids == dup)[1]), area_id or "index", f"area id {dup!r} appears twice")
    is_geo = hasattr(areas, "geometry") and getattr(areas, "_geometry_column_name", None) in areas.columns
    areas_m = _metric(areas) if is_geo else None

    if predictions is None:
        if count is None:
            raise param_error("count", "name the column of areas that holds the counts when predictions is None")
        _column(areas, count, "count")
        c = _numbers(areas, count)
        acc = BoxAccounting(len(areas), len(areas), 0, 0, float(c.sum()), float(c.sum()), 0.0, ())
    else:
        c, acc = _counts_from_predictions(predictions, areas, areas_m, ids, count=count, area_id=area_id, x=x, y=y, crs=crs)

    gmat = np.column_stack([_numbers(areas, g) for g in groups])
    tot = _numbers(areas, total) if total is not None else gmat.sum(axis=1)
    over = gmat > tot[:, None] * (1 + 1e-9) + 1e-9
    if over.any():
        i, j = map(int, np.argwhere(over)[0])
        raise data_error(i, groups[j], f"group population {gmat[i, j]:g} exceeds the total {tot[i]:g}")
    empty = tuple(ids[tot == 0].tolist())
    acc = BoxAccounting(**{**acc.__dict__, "areas_without_population": empty})

    core = _native.targeting(np.ascontiguousarray(c), np.ascontiguousarray(tot), np.ascontiguousarray(tot),
                             np.ascontiguousarray(gmat), window_share=float(window_share), least=least,
                             permutations=int(permutations), confidence=float(confidence), seed=int(seed),
                             correction="none" if correction is None else str(correction))
    bnd = _bounds(areas, groups + ([total] if total else []), margins, bounds)
    lower_core = upper_core = None
    if bnd is not None:
        lo, hi = bnd
        cores = []
        for b in (lo, hi):
            gm = np.column_stack([b[g] for g in groups])
            tt = b[total] if total else gm.sum(axis=1)
            cores.append(_native.targeting(np.ascontiguousarray(c), np.ascontiguousarray(tot),
                                           np.ascontiguousarray(tt, dtype=np.float64),
                                           np.ascontiguousarray(np.minimum(gm, tt[:, None])),
                                           window_share=float(window_share), least=least, permutations=0))
        lower_core, upper_core = cores

    # ---- tables
    overall = core.overall
    ws = core.window_shares
    rows = []
    for k, wname in enumerate(WINDOW_NAMES):
        for j, g in enumerate(groups):
            d = ws[k, j] - overall[j]
            row = {
                "window": wname, "group": g, "areas": len(core.members[k]),
                "population": core.window_population[k], "count": core.window_counts[k],
                "share": ws[k, j], "overall": overall[j], "difference": d,
                "relative_increase": d / overall[j] if overall[j] > 0 else np.nan,
                "p_higher": core.p_higher[k, j], "p_lower": core.p_lower[k, j],
                "p_higher_adjusted": core.p_higher_adjusted[k, j], "p_lower_adjusted": core.p_lower_adjusted[k, j],
                "mde_higher": core.mde_higher[k, j], "mde_lower": core.mde_lower[k, j],
            }
            if lower_core is not None and upper_core is not None:
                sl, su = lower_core.window_shares[k, j], upper_core.window_shares[k, j]
                ol, ou = lower_core.overall[j], upper_core.overall[j]
                row.update({"share_lower": sl, "share_upper": su, "overall_lower": ol, "overall_upper": ou,
                            "higher_under_every_bound": bool(d > 0 and sl > ol and su > ou)})
            else:
                row.update({"share_lower": np.nan, "share_upper": np.nan, "overall_lower": np.nan,
                            "overall_upper": np.nan, "higher_under_every_bound": bool(d > 0)})
            rows.append(row)
    windows = pd.DataFrame(rows)

    decile = core.decile
    window_of = np.full(len(areas), "", dtype=object)
    for k, wname in enumerate(WINDOW_NAMES):
        window_of[core.members[k]] = wname
    rank = np.empty(len(areas), dtype=np.int64)
    rank[core.order] = np.arange(len(areas), 0, -1)
    area_tab = pd.DataFrame({"area": ids, "count": c, "population": tot})
    if names is not None:
        area_tab.insert(1, "name", areas[names].to_numpy())
    for j, g in enumerate(groups):
        area_tab[g] = gmat[:, j]
    area_tab["rank"] = rank
    area_tab["decile"] = decile
    area_tab["window"] = window_of

    gtot = gmat.sum(axis=0)
    above = c > core.median_count
    above_pop = tot[above].sum()
    above_median = pd.DataFrame({
        "group": groups,
        "share_of_group_above_median": core.above_median_share,
        "share_of_residents_above_median": [above_pop / tot.sum()] * len(groups),
        "share_of_above_median_residents": [gmat[above, j].sum() / above_pop if above_pop > 0 else np.nan for j in range(len(groups))],
        "group_total": gtot,
    })
    edges = core.decile_edges
    dec = pd.DataFrame({"decile": np.arange(1, 11), "count_from": edges[:-1], "count_to": edges[1:],
                        "areas": core.decile_areas, "predictions": core.decile_counts,
                        "population": core.decile_population})
    for j, g in enumerate(groups):
        dec[g] = core.decile_shares[:, j]

    corr = None
    if recorded:
        crows = []
        for name, rec in recorded.items():
            r = _recorded_counts(rec, areas, areas_m, ids, area_id)
            pear, spear = _spearman(c, r)
            crows.append({"measure": name, "total": float(r.sum()), "pearson": pear, "spearman": spear, "areas": len(c)})
        corr = pd.DataFrame(crows)

    geometry = None
    if areas_m is not None:
        geometry = areas_m[[areas_m.geometry.name]].copy()
        geometry["area"] = ids
        geometry["count"] = c
        geometry["window"] = window_of
        if names is not None:
            geometry["name"] = areas[names].to_numpy()
    return TargetingAudit(
        jurisdiction=str(jurisdiction), period=str(period) if period else "not stated", groups=tuple(groups),
        areas=area_tab, windows=windows, above_median=above_median, deciles=dec, correlation=corr,
        accounting=acc, window_size=int(core.window_size),
        params={"window_share": window_share, "least": least, "permutations": permutations,
                "confidence": confidence, "seed": seed, "median_count": core.median_count,
                "correction": core.correction, "family_size": core.family_size,
                "bounds": bnd is not None},
        geometry=geometry,
    )


def targeting_summary(audits: Sequence[TargetingAudit], correction: str | None = "holm") -> pd.DataFrame:
    """Across jurisdictions: for each group and window, in how many jurisdictions the group's
    share is higher than its jurisdiction-wide share (by the estimate, under every bound, and
    beyond random targeting at the audit's confidence), and the mean relative increase.

    "Beyond chance" is judged on p-values adjusted over the family of every jurisdiction's
    ``p_higher`` (jurisdictions × windows × groups) with ``correction`` (``"holm"`` by default,
    ``"fdr_bh"``, or ``None`` for raw p-values); ``higher_beyond_chance_raw`` counts the raw ones.
    The table's ``attrs`` record the correction and the family size.
    """
    from ..stats import adjust_pvalues

    if correction is not None and correction not in ("holm", "fdr_bh"):
        raise param_error("correction", f"must be 'holm', 'fdr_bh' or None, got {correction!r}")
    if not len(audits):
        raise param_error("audits", "give at least one TargetingAudit")
    frames = []
    for a in audits:
        if not isinstance(a, TargetingAudit):
            raise param_error("audits", f"expected TargetingAudit results, got {type(a).__name__}")
        w = a.windows.copy()
        w["jurisdiction"] = a.jurisdiction
        w["alpha"] = 1 - float(a.params.get("confidence", 0.95))
        frames.append(w)
    allw = pd.concat(frames, ignore_index=True)
    p = allw["p_higher"].to_numpy(dtype=float)
    tested = np.isfinite(p)
    adj = np.full(len(p), np.nan)
    if tested.any():
        adj[tested] = p[tested] if correction is None else adjust_pvalues(p[tested], method=correction)
    allw["p_higher_across"] = adj
    allw["beyond_chance_raw"] = allw["p_higher"] <= allw["alpha"]
    allw["beyond_chance"] = allw["p_higher_across"] <= allw["alpha"]
    out = allw.groupby(["group", "window"], sort=False).agg(
        jurisdictions=("jurisdiction", "size"),
        higher=("difference", lambda d: int((d > 0).sum())),
        higher_under_every_bound=("higher_under_every_bound", "sum"),
        higher_beyond_chance=("beyond_chance", "sum"),
        higher_beyond_chance_raw=("beyond_chance_raw", "sum"),
        mean_relative_increase=("relative_increase", "mean"),
    ).reset_index()
    out.attrs["correction"] = "none" if correction is None else correction
    out.attrs["family_size"] = int(tested.sum())
    return out

"""Hotspot statistics: Getis–Ord Gi*, emerging hot spots and the Knox near-repeat test.

Every function states its statistics in its result: sidedness of each p-value, the
multiple-testing correction applied (Benjamini–Hochberg by default), permutations and seed.
The computations run in the Rust core (``placewise._native``) with the GIL released.

>>> import numpy as np, placewise as pw
>>> region = pw.Region.from_bounds(0, 0, 700, 700, crs="EPSG:32616")
>>> grid = pw.Grid(region, cell_size=100)
>>> v = np.ones(grid.shape); v[2:5, 2:5] = 5.0
>>> g = pw.stats.gi_star(v, grid=grid, distance=150, permutations=999, seed=0)
>>> bool(g.z_map()[3, 3] > 3), g.correction
(True, 'fdr_bh')
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _check, _native
from .exceptions import param_error

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes

    from .data import Incidents
    from .space import Grid
    from .surface import Surface

__all__ = [
    "gi_star",
    "GiStarResult",
    "emerging_hotspots",
    "EmergingHotspots",
    "knox",
    "KnoxResult",
    "adjust_pvalues",
    "mann_kendall",
    "EMERGING_CATEGORIES",
]

_CORRECTIONS = ("fdr_bh", "holm", None)
EMERGING_CATEGORIES: list[str] = list(_native.emerging_categories())
"""Labels of the emerging hot spot categories, by code (0 is "no pattern detected")."""

_BIN_LABELS = {
    3: "hot spot, 99% confidence",
    2: "hot spot, 95% confidence",
    1: "hot spot, 90% confidence",
    0: "not significant",
    -1: "cold spot, 90% confidence",
    -2: "cold spot, 95% confidence",
    -3: "cold spot, 99% confidence",
}
_BIN_COLOURS = {3: "#d62f27", 2: "#ed7551", 1: "#fab984", 0: "#eeeeee", -1: "#c0ccbe", -2: "#849eba", -3: "#4575b5"}


def _int_param(value: Any, name: str, minimum: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise param_error(name, f"must be an integer, got {value!r}")
    if int(value) < minimum:
        raise param_error(name, f"must be at least {minimum}, got {value}")
    return int(value)


def _correction(correction: str | None) -> str:
    if correction not in _CORRECTIONS:
        raise param_error("correction", f'must be "fdr_bh", "holm" or None, got {correction!r}')
    return "none" if correction is None else correction


def _alpha(alpha: Any) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise param_error("alpha", f"must lie in (0, 1), got {alpha!r}")
    return a


def adjust_pvalues(p: Any, method: str = "fdr_bh") -> np.ndarray:
    """Benjamini–Hochberg (``"fdr_bh"``) or Holm (``"holm"``) adjusted p-values.

    Reject hypothesis ``i`` at level α when ``adjusted[i] <= α``. Equal to
    ``scipy.stats.false_discovery_control(p, method="bh")`` and to statsmodels' Holm.
    """
    if method not in ("fdr_bh", "holm", "none"):
        raise param_error("method", f'must be "fdr_bh", "holm" or "none", got {method!r}')
    arr = np.ascontiguousarray(p, dtype=np.float64).ravel()
    return _native.adjust_p(arr, method)


def mann_kendall(x: Any) -> dict[str, float]:
    """Mann–Kendall trend test: ``S``, ``var_s`` (tie-corrected), ``z`` (continuity-corrected),
    two-sided ``p`` and Kendall's ``tau`` (tau-a)."""
    r = _native.mann_kendall(np.ascontiguousarray(x, dtype=np.float64).ravel())
    return {"s": r.s, "var_s": r.var_s, "z": r.z, "p": r.p, "tau": r.tau}


# --------------------------------------------------------------------------------------- Gi*


class GiStarResult:
    """Getis–Ord Gi* per active cell.

    Attributes (arrays over the active cells, in ``cell_ids`` order):

    * ``z`` — standardised Gi*; ``p`` — analytic **two-sided** normal p-value ``2 Φ(−|z|)``;
    * ``p_sim`` — conditional-permutation pseudo p-value (``None`` without permutations),
      **one-sided in the direction the observation is more extreme** (esda's ``p_sim``,
      ``alternative="directed"``): ``(1 + min(#sim ≥ obs, #sim ≤ obs)) / (1 + R)``;
    * ``p_tested`` — the two-sided p-values the correction was applied to
      (``min(1, 2 p_sim)`` with permutations, else ``p``);
    * ``p_corrected`` — ``p_tested`` after ``correction``;
    * ``bins`` — ArcGIS-style confidence bins from ``p_corrected``: ±3 (p ≤ 0.01, 99 %),
      ±2 (≤ 0.05, 95 %), ±1 (≤ 0.10, 90 %), 0 otherwise, signed like ``z``;
    * ``significant`` — ``p_corrected <= alpha``.
    """

    def __init__(self, *, raw: _native.GiStarResult, grid: Grid, values: np.ndarray, distance: float, permutations: int | None,
                 seed: int, correction: str | None, alpha: float) -> None:
        self.grid = grid
        self.cell_ids: np.ndarray = raw.cell_ids
        self.values: np.ndarray = values.ravel()[self.cell_ids]
        self.z: np.ndarray = raw.z
        self.p: np.ndarray = raw.p
        self.p_sim: np.ndarray | None = raw.p_sim
        self.p_tested: np.ndarray = raw.p_tested
        self.p_corrected: np.ndarray = raw.p_corrected
        self.bins: np.ndarray = raw.bins
        self.n_neighbours: np.ndarray = raw.n_neighbours
        self.n_islands: int = raw.n_islands
        self.mean: float = raw.mean
        self.std: float = raw.std
        self.distance = distance
        self.weights: str = raw.weights
        self.permutations = permutations
        self.seed = seed
        self.correction = correction
        self.alpha = alpha
        self.significant: np.ndarray = self.p_corrected <= alpha

    @property
    def p_source(self) -> str:
        """Which p-values were corrected and binned: ``"permutation"`` or ``"analytic"``."""
        return "analytic" if self.p_sim is None else "permutation"

    @property
    def sidedness(self) -> str:
        """The sidedness of each p-value, in words."""
        s = "z and p: two-sided normal, p = 2·Φ(−|z|)."
        if self.p_sim is not None:
            s += (" p_sim: one-sided in the direction of the observed deviation (folded, as esda's p_sim);"
                  " p_tested = min(1, 2·p_sim) is two-sided.")
        s += f" Bins and `significant` use p_tested after correction={self.correction!r}."
        return s

    def _map(self, v: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(self.grid.n_cells, fill, dtype=np.result_type(v.dtype, np.asarray(fill).dtype))
        out[self.cell_ids] = v
        return out.reshape(self.grid.shape)

    def z_map(self) -> np.ndarray:
        """z as a (ny, nx) array, NaN outside the active cells."""
        return self._map(self.z, np.nan)

    def bins_map(self) -> np.ndarray:
        """Confidence bins as a (ny, nx) int8 array, 0 outside the active cells."""
        return self._map(self.bins, np.int8(0)).astype(np.int8)

    def to_frame(self) -> pd.DataFrame:
        """One row per active cell."""
        x, y = self.grid.centres(self.cell_ids)
        df = pd.DataFrame({
            "cell_id": self.cell_ids, "row": self.cell_ids // self.grid.nx, "col": self.cell_ids % self.grid.nx,
            "x": x, "y": y, "value": self.values, "n_neighbours": self.n_neighbours, "z": self.z, "p": self.p,
        })
        if self.p_sim is not None:
            df["p_sim"] = self.p_sim
        df["p_tested"] = self.p_tested
        df["p_corrected"] = self.p_corrected
        df["bin"] = self.bins
        df["bin_label"] = [_BIN_LABELS[int(b)] for b in self.bins]
        df["significant"] = self.significant
        return df

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Cell squares of the active cells with every column of :meth:`to_frame`."""
        gdf = self.grid.to_geodataframe(active_only=True)
        df = self.to_frame().drop(columns=["row", "col"])
        return gdf.merge(df, on="cell_id", how="left")

    def counts_by_bin(self) -> pd.Series:
        """Number of cells per confidence bin (3 … −3)."""
        s = pd.Series(self.bins).value_counts()
        return pd.Series({_BIN_LABELS[b]: int(s.get(b, 0)) for b in (3, 2, 1, 0, -1, -2, -3)}, name="cells")

    def plot(self, ax: Axes | None = None, legend: bool = True) -> Axes:
        """Map of the confidence bins (ArcGIS colours); returns the Axes."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        levels = [-3, -2, -1, 0, 1, 2, 3]
        cmap = ListedColormap([_BIN_COLOURS[b] for b in levels])
        m = self.bins_map().astype(float)
        m[~self.grid.mask()] = np.nan
        x0, y0, x1, y1 = self.grid.extent
        ax.imshow(m, origin="lower", extent=(x0, x1, y0, y1), cmap=cmap, vmin=-3.5, vmax=3.5, interpolation="nearest")
        if legend:
            ax.legend(handles=[Patch(color=_BIN_COLOURS[b], label=_BIN_LABELS[b]) for b in reversed(levels)],
                      loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.set_title(f"Gi* ({self.distance:g} m, {self.weights}, correction={self.correction})")
        ax.set_aspect("equal")
        return ax

    def summary(self) -> str:
        perm = "no permutations" if self.permutations is None else f"{self.permutations} permutations, seed {self.seed}"
        counts = self.counts_by_bin()
        lines = [
            f"Getis–Ord Gi* on {len(self.cell_ids):,} active cells; distance band {self.distance:g} m, "
            f"{self.weights} weights; {perm}",
            f"p-values corrected and binned: {self.p_source}; correction: {self.correction}",
            self.sidedness,
            f"significant at alpha={self.alpha:g} (after correction): {int(self.significant.sum()):,} cells",
        ]
        if self.n_islands:
            lines.append(f"{self.n_islands:,} cells have no neighbour within the band (z from the cell alone)")
        lines += [f"  {k}: {v:,}" for k, v in counts.items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "GiStarResult\n" + self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><span style='color:{_BIN_COLOURS[b]}'>&#9632;</span> {html.escape(_BIN_LABELS[b])}</td>"
            f"<td>{int((self.bins == b).sum()):,}</td></tr>"
            for b in (3, 2, 1, 0, -1, -2, -3)
        )
        perm = "none" if self.permutations is None else f"{self.permutations} (seed {self.seed})"
        meta = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in [("active cells", f"{len(self.cell_ids):,}"), ("distance band", f"{self.distance:g} m"),
                         ("weights", self.weights), ("permutations", perm), ("p-values binned", self.p_source),
                         ("correction", self.correction), ("alpha", self.alpha), ("sidedness", self.sidedness)]
        )
        return (f"<div><b>Getis–Ord Gi*</b><table>{meta}</table>"
                f"<table><tr><th>bin</th><th>cells</th></tr>{rows}</table></div>")


def gi_star(
    counts: Surface | np.ndarray,
    distance: float,
    *,
    grid: Grid | None = None,
    weights: str = "binary",
    permutations: int | None = 999,
    seed: int = 0,
    correction: str | None = "fdr_bh",
    alpha: float = 0.05,
) -> GiStarResult:
    """Getis–Ord Gi* hot spots on grid counts (Getis & Ord 1992; Ord & Getis 1995).

    Parameters
    ----------
    counts
        A :class:`~placewise.Surface` (typically counts per cell), or a ``(ny, nx)`` array with
        ``grid=``. Only active cells take part; inactive cells are ignored.
    distance
        Distance band in metres: cells whose centres are at most this far apart are neighbours
        (the cell itself is always included, as Gi* requires). Must reach at least one cell size.
    weights
        ``"binary"`` (1 within the band) or ``"inverse_distance"`` (``cell_size / d``, so a rook
        neighbour weighs 1; the cell itself weighs 1).
    permutations
        Conditional permutations for pseudo p-values (Anselin 1995), or ``None`` for analytic
        inference only. Must be at least 1.
    seed
        Seed of the permutations (same seed ⇒ same result, whatever the thread count).
    correction
        ``"fdr_bh"`` (Benjamini–Hochberg, default), ``"holm"`` or ``None``; applied to the
        two-sided p-values before binning.
    alpha
        Level for the ``significant`` flag (after correction).

    Returns
    -------
    GiStarResult
        z, analytic p (two-sided), pseudo p (one-sided, folded), corrected p, ArcGIS-style
        bins, and the statement of what was applied.
    """
    from .surface import Surface

    if isinstance(counts, Surface):
        if grid is not None and grid is not counts.grid:
            raise param_error("grid", "give either a Surface or an array with grid=, not a Surface and another grid")
        values, grid = counts.values, counts.grid
    else:
        if grid is None:
            raise param_error("grid", "an array of counts needs the grid it lives on (grid=)")
        values = np.asarray(counts, dtype=np.float64)
        if values.shape != grid.shape:
            raise param_error("counts", f"shape {values.shape} does not match the grid's (ny, nx) = {grid.shape}")
    perms = _int_param(permutations, "permutations", 1, allow_none=True)
    seed_ = _int_param(seed, "seed", 0)
    corr = _correction(correction)
    a = _alpha(alpha)
    if weights not in ("binary", "inverse_distance"):
        raise param_error("weights", f'must be "binary" or "inverse_distance", got {weights!r}')
    d = float(distance)
    values = np.ascontiguousarray(values, dtype=np.float64)
    raw = _native.gi_star(values, grid._native, d, weights, perms, seed_, corr)
    return GiStarResult(raw=raw, grid=grid, values=values, distance=d, permutations=perms, seed=int(seed_ or 0),
                        correction=correction, alpha=a)


# ------------------------------------------------------------------------- emerging hot spots


class EmergingHotspots:
    """Emerging hot spot analysis per active cell (ESRI's categories).

    ``categories`` is a frame with one row per active cell: its category, the number of
    significant hot and cold steps, and the Mann–Kendall trend of its Gi* z-scores. ``z``,
    ``counts`` and ``p_corrected`` are ``(steps, active cells)`` arrays; ``steps`` holds the
    start of each step in the incidents' time zone.
    """

    def __init__(self, *, raw: _native.EmergingResult, grid: Grid, tz: str, step: pd.Timedelta, distance: float, time_steps: int,
                 alpha: float, correction: str | None, threshold: float) -> None:
        from ._time import seconds_to_timestamps

        self.grid = grid
        self.cell_ids: np.ndarray = raw.cell_ids
        self.steps: pd.DatetimeIndex = seconds_to_timestamps(raw.starts, tz)
        self.step = step
        self.counts: np.ndarray = raw.counts
        self.z: np.ndarray = raw.z
        self.p: np.ndarray = raw.p
        self.p_corrected: np.ndarray = raw.p_corrected
        self.category_codes: np.ndarray = raw.category
        self.n_ignored: int = raw.n_ignored
        self.distance = distance
        self.time_steps = time_steps
        self.alpha = alpha
        self.correction = correction
        self.threshold = threshold
        x, y = grid.centres(self.cell_ids)
        self.categories = pd.DataFrame({
            "cell_id": self.cell_ids, "x": x, "y": y,
            "category": pd.Categorical([EMERGING_CATEGORIES[c] for c in self.category_codes], categories=EMERGING_CATEGORIES),
            "n_hot": raw.n_hot, "n_cold": raw.n_cold, "final_z": self.z[-1] if len(self.z) else np.nan,
            "trend_s": raw.trend_s, "trend_tau": raw.trend_tau, "trend_z": raw.trend_z, "trend_p": raw.trend_p,
            "total_count": self.counts.sum(axis=0),
        })

    def summary_table(self) -> pd.Series:
        """Cells per category (every category listed, zeros included)."""
        return self.categories["category"].value_counts(sort=False).rename("cells")

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        gdf = self.grid.to_geodataframe(active_only=True)
        return gdf.merge(self.categories.drop(columns=["x", "y"]), on="cell_id", how="left")

    def plot(self, ax: Axes | None = None, legend: bool = True) -> Axes:
        """Map of the categories (hot patterns in reds, cold in blues); returns the Axes."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        reds = plt.get_cmap("Reds")(np.linspace(0.3, 0.95, 8))
        blues = plt.get_cmap("Blues")(np.linspace(0.3, 0.95, 8))
        colours = [(0.93, 0.93, 0.93, 1.0), *reds, *blues]
        m = np.full(self.grid.n_cells, np.nan)
        m[self.cell_ids] = self.category_codes
        x0, y0, x1, y1 = self.grid.extent
        ax.imshow(m.reshape(self.grid.shape), origin="lower", extent=(x0, x1, y0, y1), cmap=ListedColormap(colours),
                  vmin=-0.5, vmax=len(colours) - 0.5, interpolation="nearest")
        if legend:
            present = sorted(set(int(c) for c in self.category_codes))
            ax.legend(handles=[Patch(color=colours[c], label=EMERGING_CATEGORIES[c]) for c in present],
                      loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.set_title(f"Emerging hot spots ({len(self.steps)} steps of {self.step})")
        ax.set_aspect("equal")
        return ax

    def summary(self) -> str:
        lines = [
            f"Emerging hot spot analysis: {len(self.cell_ids):,} cells × {len(self.steps)} steps of {self.step} "
            f"from {self.steps[0]} ; space-time Gi* (distance {self.distance:g} m, {self.time_steps} previous step(s)),",
            f"two-sided p, correction={self.correction!r} over all bins, alpha={self.alpha:g}; "
            f"Mann–Kendall trend at alpha={self.alpha:g}; threshold {self.threshold:.0%} of steps",
        ]
        if self.n_ignored:
            lines.append(f"{self.n_ignored:,} incidents outside the active cells or the time window were not counted")
        lines += [f"  {k}: {v:,}" for k, v in self.summary_table().items() if v]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "EmergingHotspots\n" + self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>" for k, v in self.summary_table().items())
        head = html.escape(self.summary().split("\n  ")[0]).replace("\n", "<br>")
        return f"<div><b>Emerging hot spots</b><p>{head}</p><table><tr><th>category</th><th>cells</th></tr>{rows}</table></div>"


def emerging_hotspots(
    incidents: Incidents,
    grid: Grid,
    step: str | pd.Timedelta = "7D",
    *,
    distance: float | None = None,
    time_steps: int = 1,
    start: Any = None,
    end: Any = None,
    alpha: float = 0.10,
    correction: str | None = "fdr_bh",
    threshold: float = 0.9,
) -> EmergingHotspots:
    """Emerging hot spot analysis (ESRI, "How Emerging Hot Spot Analysis works").

    Incidents are counted per active cell and time step (steps of ``step``, aligned so the last
    one ends at ``end``; default: just after the last incident). Each space–time bin gets a
    Gi* z-score over the cells within ``distance`` metres (default 1.5 cell sizes: the eight
    surrounding cells) in its own step and the ``time_steps`` previous ones, against the whole
    cube. Two-sided p-values are corrected over all bins (``correction``, Benjamini–Hochberg
    by default); a bin is a significant hot/cold spot at ``alpha``. A Mann–Kendall test of
    each cell's z series gives its trend, and each cell is classified as a new, consecutive,
    intensifying, persistent, diminishing, sporadic, oscillating or historical hot or cold
    spot, or no pattern (the rules are in ``placewise::stats::emerging::classify``; ``threshold``
    is ESRI's 90 %). ESRI recommends at least 10 steps; at least 3 are required.
    """
    import warnings

    td = pd.Timedelta(step)
    step_s = int(td.total_seconds())
    if td != pd.Timedelta(seconds=step_s):
        raise param_error("step", f"must be a whole number of seconds, got {step!r}")
    d = float(grid.cell_size * 1.5 if distance is None else distance)
    ts = _int_param(time_steps, "time_steps", 0)
    a = _check.number("alpha", alpha)  # its domain (0, 1) is checked by the core, with step's and distance's
    corr = _correction(correction)
    s = None if start is None else incidents._seconds(start, "start")
    e = None if end is None else incidents._seconds(end, "end")
    raw = _native.emerging_hotspots(incidents._native, grid._native, step_s, d, s, e, ts, a, corr, float(threshold))
    if len(raw.starts) < 10:
        warnings.warn(f"only {len(raw.starts)} time steps; ESRI recommends at least 10 for the trend test",
                      UserWarning, stacklevel=2)
    return EmergingHotspots(raw=raw, grid=grid, tz=incidents.tz, step=td, distance=d, time_steps=int(ts or 0), alpha=a,
                            correction=correction, threshold=float(threshold))


# ------------------------------------------------------------------------------------- Knox


def _bands(bands: Any, name: str, point_first: bool) -> list[tuple[float, float]]:
    if isinstance(bands, (str, bytes)) or not isinstance(bands, Sequence | np.ndarray):
        raise param_error(name, f"must be a list of edges or of (lo, hi) pairs, got {bands!r}")
    items = list(bands)
    if not items:
        raise param_error(name, "needs at least one band")
    if all(isinstance(b, numbers.Real) for b in items):
        edges = [float(b) for b in items]
        if len(edges) < 2 and not (point_first and edges == [0.0]):
            raise param_error(name, "a list of edges needs at least two values")
        for a, b in zip(edges, edges[1:]):
            if not b > a:
                raise param_error(name, f"edges must be strictly increasing, got {edges}")
        out = [(0.0, 0.0)] if point_first and edges[0] == 0.0 else []
        return out + list(zip(edges, edges[1:]))
    pairs = []
    for b in items:
        try:
            lo, hi = b
            pairs.append((float(lo), float(hi)))
        except (TypeError, ValueError) as err:
            raise param_error(name, f"each band must be a (lo, hi) pair, got {b!r}") from err
    return pairs


def _label(lo: float, hi: float, unit: str, first: bool, same: str) -> str:
    if lo == hi == 0.0:
        return same
    return f"{lo:g}–{hi:g} {unit}" if (first and lo == 0.0) else f"({lo:g}, {hi:g}] {unit}"


class KnoxResult:
    """The Near Repeat Calculator's table: one row per (space band, time band) cell.

    ``table`` columns: ``space_band``, ``space_lo_m``, ``space_hi_m``, ``time_band``,
    ``time_lo_days``, ``time_hi_days``, ``observed`` (pairs), ``expected`` (mean over the
    permutations), ``expected_exact`` (``n_space × n_time / n_pairs``), ``knox_ratio``
    (observed / expected) and ``p`` = ``(1 + #sim ≥ observed) / (1 + R)`` (one-sided, for an
    excess of pairs). The last space and time bands are "beyond" the largest edge.
    """

    def __init__(self, *, raw: _native.KnoxResult, space_bands: list[tuple[float, float]], time_bands: list[tuple[float, float]],
                 permutations: int, seed: int) -> None:
        self.space_bands = space_bands
        self.time_bands = time_bands
        self.permutations = permutations
        self.seed = seed
        self.n_events: int = raw.n_events
        self.n_pairs: int = raw.n_pairs
        self.close_pairs: int = raw.close_pairs
        s_lab = [_label(lo, hi, "m", k == 0, "same location") for k, (lo, hi) in enumerate(space_bands)]
        s_lab.append(f"> {space_bands[-1][1]:g} m")
        t_lab = [_label(lo, hi, "days", k == 0, "same time") for k, (lo, hi) in enumerate(time_bands)]
        t_lab.append(f"> {time_bands[-1][1]:g} days")
        s_idx, t_idx = raw.space, raw.time
        s_lo = [b[0] for b in space_bands] + [space_bands[-1][1]]
        s_hi = [b[1] for b in space_bands] + [np.inf]
        t_lo = [b[0] for b in time_bands] + [time_bands[-1][1]]
        t_hi = [b[1] for b in time_bands] + [np.inf]
        self.table = pd.DataFrame({
            "space_band": pd.Categorical([s_lab[i] for i in s_idx], categories=s_lab, ordered=True),
            "space_lo_m": [s_lo[i] for i in s_idx], "space_hi_m": [s_hi[i] for i in s_idx],
            "time_band": pd.Categorical([t_lab[i] for i in t_idx], categories=t_lab, ordered=True),
            "time_lo_days": [t_lo[i] for i in t_idx], "time_hi_days": [t_hi[i] for i in t_idx],
            "observed": raw.observed.astype(np.int64), "expected": raw.expected,
            "expected_exact": raw.expected_exact, "knox_ratio": raw.ratio, "p": raw.p,
        })

    def pivot(self, column: str = "knox_ratio") -> pd.DataFrame:
        """The table as space bands × time bands for one column (as the Near Repeat Calculator
        prints it)."""
        return self.table.pivot(index="space_band", columns="time_band", values=column)

    def __repr__(self) -> str:
        return (f"KnoxResult: {self.n_events:,} incidents, {self.n_pairs:,} pairs, {self.permutations} permutations "
                f"(seed {self.seed}); p = (1 + #sim ≥ obs) / (1 + R), one-sided\n{self.pivot().round(2)}")

    def _repr_html_(self) -> str:
        ratio = self.pivot("knox_ratio")
        p = self.pivot("p")
        cells = []
        for s in ratio.index:
            row = "".join(
                f"<td style='background:{'#fbb4ae' if p.loc[s, t] <= 0.05 else 'transparent'}'>{ratio.loc[s, t]:.2f}"
                f"<br><small>p={p.loc[s, t]:.3f}</small></td>" for t in ratio.columns
            )
            cells.append(f"<tr><th>{html.escape(str(s))}</th>{row}</tr>")
        head = "".join(f"<th>{html.escape(str(t))}</th>" for t in ratio.columns)
        return (f"<div><b>Knox near-repeat test</b> — {self.n_events:,} incidents, {self.permutations} permutations "
                f"(seed {self.seed}). Knox ratio (observed / expected); shaded: p ≤ 0.05, "
                f"p = (1 + #sim ≥ obs)/(1 + R), one-sided, not corrected for multiple testing."
                f"<table><tr><th>distance \\ time</th>{head}</tr>{''.join(cells)}</table></div>")


def knox(
    incidents: Incidents,
    space_bands: Any,
    time_bands: Any,
    *,
    permutations: int = 999,
    seed: int = 0,
    max_pairs: int = 250_000_000,
    method: str = "auto",
) -> KnoxResult:
    """Knox near-repeat test (Knox 1964) as in the Near Repeat Calculator (Ratcliffe 2009).

    Parameters
    ----------
    space_bands
        Distances in metres: a list of edges ``[0, 100, 200, 400]`` (a *same location* band
        ``{0}`` is added first when the first edge is 0, then ``(0, 100]``, ``(100, 200]``…), or
        a list of ``(lo, hi)`` pairs, each ``(lo, hi]`` (the first closed at 0 when ``lo == 0``;
        ``(0, 0)`` first is the same-location band). Sorted and non-overlapping.
    time_bands
        Days between incidents, as edges ``[0, 7, 14, 21]`` (``[0, 7]``, ``(7, 14]``…) or
        ``(lo, hi)`` pairs with the same rules.
    permutations, seed
        Monte Carlo permutations of the times over the locations, seeded.
    max_pairs
        Memory limit of the pair list: at most this many pairs within the largest space band
        are stored (4 bytes each). ``method="auto"`` switches to the sweep above it;
        ``method="pairs"`` refuses with :class:`~placewise.TooLargeError`.
    method
        How each permutation's table is counted; all give identical tables.
        ``"sweep"``: incidents bucketed by cell in time order, only pairs close in time
        examined (cost ≈ 3 × the pairs close in both space and time, memory O(N));
        ``"pairs"``: a stored list of the pairs close in space, each visited per permutation;
        ``"auto"`` (default): the sweep unless a quarter or more of all pairs fall within the
        largest time band.

    Returns a :class:`KnoxResult`; pairs beyond the last band of either kind fall in a
    "beyond" row or column.
    """
    sb = _bands(space_bands, "space_bands", point_first=True)
    tb = _bands(time_bands, "time_bands", point_first=False)
    perms = _int_param(permutations, "permutations", 1)
    seed_ = _int_param(seed, "seed", 0)
    mp = _int_param(max_pairs, "max_pairs", 0)
    raw = _native.knox(incidents._native, sb, tb, perms, seed_, mp, method)
    return KnoxResult(raw=raw, space_bands=sb, time_bands=tb, permutations=int(perms or 0), seed=int(seed_ or 0))

"""Formatting for people: numbers without scientific notation, plain-language column labels,
paths that do not reveal the machine, and maps with area outlines and a scale bar."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

# Raw column names (kept in the JSON) → plain-language headers with units (shown to readers).
LABELS: dict[str, str] = {
    "n": "units of analysis",
    "gini": "Gini of patrol",
    "baseline_gini_mean": "Gini under random placement (mean)",
    "baseline_gini_low": "random placement, low end",
    "baseline_gini_high": "random placement, high end",
    "gini_over_baseline": "Gini ÷ random-placement Gini",
    "theil": "Theil index of patrol",
    "baseline_theil_mean": "Theil under random placement (mean)",
    "baseline_theil_low": "random Theil, low end",
    "baseline_theil_high": "random Theil, high end",
    "theil_over_baseline": "Theil ÷ random-placement Theil",
    "share_random_at_least_as_concentrated": "share of random plans at least as concentrated",
    "tv_final": "distance from the true rates after the last round (total variation)",
    "tv_initial": "distance from the true rates at the start (total variation)",
    "dose_in_true_top_final": "share of patrol in the truly riskiest cells after the last round",
    "mean_difference": "mean difference from the baseline",
    "ci_low": "95 % interval, low",
    "ci_high": "95 % interval, high",
    "share_better": "share of origins where it did better",
    "origins": "origins scored",
    "mean": "mean",
    "coverage": "share of area flagged",
    "metric": "measure",
    "model": "model",
    "group": "group",
    "window": "window of areas",
    "share": "share of the window's residents",
    "overall": "share of all residents",
    "difference": "difference (percentage points)",
    "relative_increase": "relative to the jurisdiction",
    "p_higher": "chance of a share this high under random targeting",
    "mde_higher": "smallest excess detectable",
}


def label(col: str) -> str:
    """The plain-language header of a raw column name (the name itself, spaced, if unknown)."""
    return LABELS.get(col, col.replace("_", " "))


def relabel(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with plain-language column headers."""
    return df.rename(columns={c: label(str(c)) for c in df.columns})


def number(v: Any, digits: int = 3) -> str:
    """A number for people: thousands separators, no scientific notation, integers as integers."""
    if v is None:
        return "—"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "n/a"
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    if f == round(f) and abs(f) < 1e15:
        return f"{int(round(f)):,}"
    if abs(f) >= 100:
        return f"{f:,.0f}"
    if abs(f) >= 1:
        return f"{f:,.{max(digits - 2, 1)}f}".rstrip("0").rstrip(".")
    return f"{f:.{digits}f}".rstrip("0").rstrip(".") or "0"


def of(part: Any, whole: Any) -> str:
    """"151 of 15,000 (1.0 %)"."""
    p, w = float(part), float(whole)
    share = f" ({p / w:.1%})" if w else ""
    return f"{number(p)} of {number(w)}{share}"


def percent(v: Any, digits: int = 1) -> str:
    """A share as a percentage ("n/a" for NaN)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if math.isnan(f) else f"{f:.{digits}%}"


def points(v: Any, digits: int = 1) -> str:
    """A difference of shares in percentage points, signed."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if math.isnan(f) else f"{f * 100:+.{digits}f} pp"


def display_path(path: Any, start: Any = None) -> str:
    """A path as readers see it: relative to ``start`` (default: the working directory) when it
    lies below it, else only its file name; never the machine's absolute path."""
    if path is None:
        return "—"
    p = os.path.abspath(os.fspath(path))
    base = os.path.abspath(os.fspath(start) if start is not None else os.getcwd())
    try:
        rel = os.path.relpath(p, base)
    except ValueError:  # another drive
        rel = os.path.basename(p)
    if rel.startswith(".."):
        return os.path.basename(p)
    return rel.replace(os.sep, "/")


def _nice(x: float) -> float:
    exp = math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * 10**exp <= x:
            return float(m * 10**exp)
    return float(10**exp)


def scale_bar(ax: Any, metres_per_unit: float = 1.0) -> None:
    """A scale bar in the lower left corner of a map whose axes are in a metric CRS
    (``metres_per_unit`` converts axis units to metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width_m = (x1 - x0) * metres_per_unit
    if not np.isfinite(width_m) or width_m <= 0:
        return
    length_m = _nice(width_m / 4)
    length = length_m / metres_per_unit
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt")
    text = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), text, ha="center", va="bottom", fontsize=8)


def area_map(ax: Any, areas: Any, column: str | None = None, names: str | None = None,
             cmap: str = "Reds", legend_label: str | None = None, max_names: int = 40) -> None:
    """Areas (a GeoDataFrame in a metric CRS) with outlines, optional fill by ``column``,
    optional names at their centres (when there are at most ``max_names``), a scale bar, and
    no projected coordinate ticks."""
    if column is not None:
        areas.plot(ax=ax, column=column, cmap=cmap, edgecolor="#444444", linewidth=0.6, legend=True,
                   legend_kwds={"label": legend_label or label(column), "shrink": 0.6})
    else:
        areas.boundary.plot(ax=ax, color="#444444", linewidth=0.6)
    if names is not None and len(areas) <= max_names:
        for name, pt in zip(areas[names], areas.geometry.representative_point()):
            ax.annotate(str(name), (pt.x, pt.y), ha="center", va="center", fontsize=6, color="#222222")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")
    for s in ax.spines.values():
        s.set_visible(False)
    crs = getattr(areas, "crs", None)
    factor = 1.0
    if crs is not None and crs.is_projected:
        try:
            factor = float(crs.axis_info[0].unit_conversion_factor)
        except (AttributeError, IndexError, TypeError, ValueError):
            factor = 1.0
        scale_bar(ax, factor)

"""Surface: a risk value per grid cell, with the model, parameters and window it came from."""

from __future__ import annotations

import html
import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .exceptions import param_error

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes

    from .space import Grid


class Surface:
    """A risk value per grid cell.

    ``values`` has shape ``(ny, nx)`` (row 0 is the southern row; ``values.ravel()[id]`` is cell
    ``id``). Values are defined on every cell of the grid's extent; rankings, evaluation and
    allocation use active cells only. Ties in any ranking are broken by the lower cell id.
    """

    def __init__(
        self,
        values: np.ndarray,
        grid: Grid,
        model: str,
        params: dict[str, Any] | None = None,
        window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
        units: str = "",
        at: pd.Timestamp | None = None,
        horizon: pd.Timedelta | None = None,
    ) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != grid.shape:
            raise param_error("values", f"shape {values.shape} does not match the grid's (ny, nx) = {grid.shape}")
        if np.isnan(values).any():
            raise param_error("values", "contains NaN")
        self.values = values
        self.grid = grid
        self.model = model
        self.params = dict(params or {})
        self.window = window
        self.units = units
        self.at = at
        self.horizon = horizon

    @property
    def crs(self) -> Any:
        return self.grid.crs

    def active_values(self) -> np.ndarray:
        """Values of the active cells, in cell-id order (see ``grid.cell_ids``)."""
        return self.values.ravel()[self.grid.cell_ids]

    def ranking(self) -> np.ndarray:
        """Active cell ids from highest to lowest value; ties by lower cell id."""
        ids = self.grid.cell_ids
        v = self.values.ravel()[ids]
        order = np.lexsort((ids, -v))
        return ids[order]

    def top(self, k: int) -> pd.DataFrame:
        """The ``k`` highest-valued active cells: cell_id, value, x, y (centre), rank."""
        if not isinstance(k, (int, np.integer)) or k < 0:
            raise param_error("k", f"must be a non-negative integer, got {k!r}")
        ids = self.ranking()[: int(k)]
        x, y = self.grid.centres(ids)
        return pd.DataFrame({"cell_id": ids, "value": self.values.ravel()[ids], "x": x, "y": y, "rank": np.arange(1, len(ids) + 1)})

    def to_frame(self) -> pd.DataFrame:
        """One row per active cell: cell_id, row, col, value."""
        ids = self.grid.cell_ids
        return pd.DataFrame({"cell_id": ids, "row": ids // self.grid.nx, "col": ids % self.grid.nx, "value": self.values.ravel()[ids]})

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Cell squares of the active cells with their values."""
        gdf = self.grid.to_geodataframe(active_only=True)
        gdf["value"] = self.values.ravel()[gdf["cell_id"].to_numpy()]
        return gdf

    def to_geojson(self, path: str | os.PathLike[str] | None = None) -> str:
        """GeoJSON of the active cells (in the grid's CRS, recorded in the document)."""
        gdf = self.to_geodataframe()
        doc = json.loads(gdf.to_json(drop_id=True))
        doc["placewise"] = {"model": self.model, "params": {k: str(v) for k, v in self.params.items()}, "units": self.units,
                            "crs": self.crs.to_string()}
        text = json.dumps(doc)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_xarray(self) -> Any:
        """An ``xarray.DataArray`` with cell-centre coordinates x, y (needs xarray)."""
        try:
            import xarray as xr
        except ImportError as e:  # pragma: no cover - optional dependency
            raise ImportError("to_xarray needs xarray: pip install xarray") from e
        g = self.grid
        x0, y0, _, _ = g.extent
        xs = x0 + (np.arange(g.nx) + 0.5) * g.cell_size
        ys = y0 + (np.arange(g.ny) + 0.5) * g.cell_size
        da = xr.DataArray(np.where(g.mask(), self.values, np.nan), coords={"y": ys, "x": xs}, dims=("y", "x"), name=self.model)
        da.attrs.update({"units": self.units, "crs": self.crs.to_string(), **{k: str(v) for k, v in self.params.items()}})
        return da

    def plot(self, ax: Axes | None = None, cmap: str = "magma_r", colorbar: bool = True, **kwargs: Any) -> Axes:
        """Map of the surface (inactive cells blank); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        g = self.grid
        x0, y0, x1, y1 = g.extent
        im = ax.imshow(np.where(g.mask(), self.values, np.nan), origin="lower", extent=(x0, x1, y0, y1), cmap=cmap, **kwargs)
        if colorbar:
            ax.figure.colorbar(im, ax=ax, label=self.units or "value", shrink=0.8)
        ax.set_title(self.model)
        ax.set_aspect("equal")
        return ax

    def __repr__(self) -> str:
        v = self.active_values()
        rng = f"{v.min():.3g}–{v.max():.3g}" if v.size else "empty"
        return f"<Surface {self.model} on {self.grid.nx}×{self.grid.ny} grid, {v.size:,} active cells, values {rng}>"

    def _repr_html_(self) -> str:
        params = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in self.params.items())
        return f"<div><b>{html.escape(repr(self))}</b><table>{params}</table></div>"

"""Shared input handling of the audits."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._results import CAVEAT
from ..exceptions import param_error

__all__ = ["CAVEAT", "dose_array", "grid_of", "same_grid"]



def dose_array(dose: Any, n_cells: int | None = None, name: str = "dose") -> np.ndarray:
    """A dose per cell as a flat float array: a 1-d array over all cells, a (ny, nx) array, or
    an object with a ``.dose`` attribute (an Allocation)."""
    d = getattr(dose, "dose", dose)
    try:
        a = np.asarray(d, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise param_error(f"{name}", f"expected an array of numbers per cell ({e})") from None
    if a.ndim == 2:
        a = a.ravel()
    if a.ndim != 1:
        raise param_error(f"{name}", f"expected a 1-d array over the grid's cells, got shape {a.shape}")
    if n_cells is not None and a.size != n_cells:
        raise param_error(f"{name}", f"has {a.size} values but the grid has {n_cells} cells; "
            "the population does not join the grid (build it on the allocation's grid)"
        )
    return np.ascontiguousarray(a)


def grid_of(obj: Any) -> Any:
    return getattr(obj, "grid", None)


def same_grid(a: Any, b: Any) -> bool:
    """Whether two grids describe the same cells (same extent, size and shape)."""
    if a is None or b is None or a is b:
        return True
    return bool(a.shape == b.shape and np.allclose(a.extent, b.extent) and a.cell_size == b.cell_size)

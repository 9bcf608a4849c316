"""Size limits, process-wide, checked before every allocation whose size a parameter sets.

A request above a limit raises :class:`~placewise.TooLargeError` (naming the parameter, the size
requested and the limit) instead of exhausting memory. Raise a limit only on a machine with
the memory for it::

    import placewise as pw
    pw.limits().max_grid_cells          # 25_000_000
    before = pw.set_limits(max_grid_cells=100_000_000)
    ...
    pw.set_limits(**before.as_dict())   # restore

Limits are per process: Dask workers and subprocesses start from the defaults (set them in the
worker too). The defaults and what each costs are documented in ``docs/security.md``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import _native


@dataclasses.dataclass(frozen=True)
class Limits:
    """The limits in force (counts of elements, not bytes)."""

    max_grid_cells: int
    """Cells of a grid, active or not (default 25 million)."""
    max_fft_nodes: int
    """Nodes of a binned KDE's FFT lattice (default 2**26)."""
    max_matrix_values: int
    """Values of a dense matrix: population cells × groups, bootstrap resamples × statistics (default 10**8)."""
    max_pairs: int
    """Pairs of incidents in a Knox pair list (default 250 million)."""
    max_backtest_origins: int
    """Origins of a rolling backtest (default 5,000)."""

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def limits() -> Limits:
    """The limits in force."""
    return Limits(**_native.limits())


def set_limits(**changes: Any) -> Limits:
    """Sets the named limits (integers ≥ 1; the others stay) and returns the previous ones.

    Unknown names, booleans, non-integers and values below 1 raise
    :class:`~placewise.InvalidParameterError` naming the limit.
    """
    return Limits(**_native.set_limits(changes))


__all__ = ["Limits", "limits", "set_limits"]

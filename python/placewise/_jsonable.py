"""Plain JSON for audit results and run-log records: NaN becomes None, numpy types become Python."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(v: Any) -> Any:
    """``v`` with NaN/inf as None, numpy scalars and arrays as Python numbers and lists."""
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def dumps(v: Any) -> str:
    """Compact JSON of :func:`jsonable` ``v``; raises TypeError for objects JSON cannot hold."""
    return json.dumps(jsonable(v), allow_nan=False, separators=(",", ":"))


def nan(v: Any) -> float:
    """None (JSON null) as NaN."""
    return float("nan") if v is None else float(v)

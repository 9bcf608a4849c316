"""Every bad parameter is refused with an InvalidParameterError that names it.

Table-driven over public functions: each row is a bad call and the parameter the error must
name in ``.name`` (set by ``exceptions.param_error`` on the Python side, by the core's
``Error::InvalidParameter`` on the Rust side). The names are written here by hand from the
functions' signatures, not read from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise.exceptions import InvalidParameterError

CRS = "EPSG:32616"


def _grid() -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, 500, 500, crs=CRS), cell_size=100)


def _incidents(n: int = 60) -> pw.Incidents:
    rng = np.random.default_rng(0)
    t0 = int(pd.Timestamp("2020-01-01", tz="UTC").value // 10**9)
    return pw.Incidents.from_arrays(
        rng.uniform(10, 490, n), rng.uniform(10, 490, n), t0 + np.sort(rng.integers(0, 86400 * 120, n)), crs=CRS
    )


def _surface() -> pw.Surface:
    return pw.Surface(np.arange(25, dtype=float).reshape(5, 5), _grid(), "ramp")


# (label, bad call, the parameter the error must name)
CASES: list[tuple[str, Callable[[], Any], str]] = [
    # numeric domains checked in the Rust core
    ("grid cell size", lambda: pw.Grid(pw.Region.from_bounds(0, 0, 500, 500, crs=CRS), cell_size=-1.0), "cell_size"),
    ("metrics coverage", lambda: pw.evaluate.metrics(_surface(), np.ones(25), coverage=1.5), "coverage"),
    ("gi* distance", lambda: pw.stats.gi_star(np.ones((5, 5)), 0.0, grid=_grid(), permutations=None), "distance"),
    ("emerging alpha", lambda: pw.stats.emerging_hotspots(_incidents(), _grid(), step="7D", alpha=1.5), "alpha"),
    ("emerging step", lambda: pw.stats.emerging_hotspots(_incidents(), _grid(), step="0D"), "step"),
    ("emerging fractional step", lambda: pw.stats.emerging_hotspots(_incidents(), _grid(), step="1.5s"), "step"),
    ("urn rates", lambda: pw.audit.ensign_urn(rates=(0.0, 1.0), runs=2, draws=2), "rates"),
    ("urn update", lambda: pw.audit.ensign_urn(update="arrests", runs=2, draws=2), "update"),
    ("knox permutations", lambda: pw.stats.knox(_incidents(), [0, 100], [0, 7], permutations=0), "permutations"),
    ("knox method", lambda: pw.stats.knox(_incidents(), [0, 100], [0, 7], permutations=9, method="fast"), "method"),
    # what only Python sees: types, names, CRS, times, pandas objects
    ("gi* correction", lambda: pw.stats.gi_star(np.ones((5, 5)), 150, grid=_grid(), correction="bonf"), "correction"),
    ("gi* without grid", lambda: pw.stats.gi_star(np.ones((5, 5)), 150), "grid"),
    ("frame not a frame", lambda: pw.Incidents.from_frame([1, 2], x="x", y="y", t="t", crs=CRS), "df"),
    ("unknown category", lambda: _incidents().category(["nope"]), "names"),
    ("surface shape", lambda: pw.Surface(np.ones((2, 2)), _grid(), "bad"), "values"),
    ("surface NaN", lambda: pw.Surface(np.full((5, 5), np.nan), _grid(), "bad"), "values"),
    ("top k", lambda: _surface().top(-1), "k"),
    ("kde bandwidth rule", lambda: pw.models.KDE(bandwidth="wide").fit(_incidents(), _grid()), "bandwidth"),
    ("model set_params", lambda: pw.models.KDE().set_params(colour=1), "colour"),
    ("model fit on a list", lambda: pw.models.KDE(bandwidth=200).fit([1, 2], _grid()), "incidents"),
    ("metrics test length", lambda: pw.evaluate.metrics(_surface(), np.ones(4)), "test"),
    ("backtest step", lambda: pw.evaluate.backtest([], _incidents(), _grid(), "2020-02-01", "2020-03-01", step="0D",
                                                   progress=False), "step"),
    ("backtest confidence", lambda: pw.evaluate.backtest([], _incidents(), _grid(), "2020-02-01", "2020-03-01",
                                                         confidence=1.5, progress=False), "confidence"),
    ("backtest coverage", lambda: pw.evaluate.backtest([], _incidents(), _grid(), "2020-02-01", "2020-03-01",
                                                       coverage=[0.0], progress=False), "coverage"),
    ("backtest start", lambda: pw.evaluate.backtest([], _incidents(), _grid(), "not a time", "2020-03-01",
                                                    progress=False), "start"),
    ("provenance incidents", lambda: pw.audit.data_provenance([1, 2, 3]), "incidents"),
    ("provenance dominant share", lambda: pw.audit.data_provenance(_incidents(), dominant_share=0.0), "dominant_share"),
    ("policy tau", lambda: pw.AuditPolicy(tau=1.5), "tau"),
    ("runlog record", lambda: pw.RunLog(_tmp_log()).append([1, 2]), "record"),
    ("region crs", lambda: pw.Region.from_bounds(0, 0, 1, 1, crs="EPSG:4326"), "crs"),
]


def _tmp_log() -> str:
    import tempfile

    return str(__import__("pathlib").Path(tempfile.mkdtemp()) / "run.jsonl")


@pytest.mark.parametrize("label,call,name", CASES, ids=[c[0] for c in CASES])
def test_bad_parameter_error_names_it(label: str, call: Callable[[], Any], name: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        call()
    e = info.value
    assert e.name == name, f"{label}: .name is {getattr(e, 'name', None)!r}, message {e}"
    assert isinstance(e.reason, str) and e.reason
    assert f"`{name}`" in str(e)


def test_no_hand_built_parameter_errors_left() -> None:
    """Python raises parameter errors only through the helper that sets ``.name``."""
    import re
    from pathlib import Path

    root = Path(pw.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "exceptions.py":
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"InvalidParameterError\(", text):
            offenders.append(f"{path.relative_to(root)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert sorted(offenders) == []


# A value outside each domain the core's constraint tables use (chosen here, by domain, not read
# from the table's code): the estimator must refuse it at fit, naming the parameter.
_OUTSIDE = {
    "a finite number greater than 0": [0.0, -5.0, float("inf"), float("nan")],
    "a number greater than 0 (inf for no limit)": [0.0, -1.0, float("nan")],
    "an integer at least 1": [0],
}

# How to give each parameter to its estimator (the knn parameters need bandwidth="knn").
_MAKE = {
    ("KDE", "bandwidth"): lambda v: pw.models.KDE(bandwidth=v),
    ("KDE", "cutoff"): lambda v: pw.models.KDE(bandwidth=200, cutoff=v),
    ("KDE", "window_days"): lambda v: pw.models.KDE(bandwidth=200, window_days=v),
    ("KDE", "half_life_days"): lambda v: pw.models.KDE(bandwidth=200, half_life_days=v),
    ("KDE", "k"): lambda v: pw.models.KDE(bandwidth="knn", k=v),
    ("KDE", "min_bandwidth"): lambda v: pw.models.KDE(bandwidth="knn", k=3, min_bandwidth=v),
    ("Naive", "window_days"): lambda v: pw.models.Naive(window_days=v),
    ("RetrospectiveHotspot", "bandwidth"): lambda v: pw.models.RetrospectiveHotspot(bandwidth=v),
    ("RetrospectiveHotspot", "window_days"): lambda v: pw.models.RetrospectiveHotspot(window_days=v),
}


@pytest.mark.parametrize("estimator", ["KDE", "Naive", "RetrospectiveHotspot"])
def test_constraint_tables_are_what_the_core_enforces(estimator: str) -> None:
    table = pw.models.parameter_constraints(estimator)
    assert set(table.index) == {p for e, p in _MAKE if e == estimator}
    inc, grid = _incidents(), _grid()
    for param, row in table.iterrows():
        for bad in _OUTSIDE[row["domain"]]:
            with pytest.raises(InvalidParameterError) as info:
                _MAKE[(estimator, param)](bad).fit(inc, grid)
            assert info.value.name == param, (estimator, param, bad, str(info.value))
        # and the class docstring lists the domain
        cls = getattr(pw.models, estimator)
        assert f"``{param}``: {row['domain']}" in cls.__doc__
    with pytest.raises(InvalidParameterError) as info:
        pw.models.parameter_constraints("NoSuchModel")
    assert info.value.name == "estimator"

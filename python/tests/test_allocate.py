"""Patrol allocation: strategies, budgets, fairness LP, plans, exports, bad input.

Cross-checks are independent of the code under test: brute force and bisection written here,
scipy's HiGHS for the linear programme, shapely for district overlaps.
"""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import placewise as pw
from placewise.allocate import district_of_cells
from placewise.exceptions import DataValidationError, InfeasibleError, InvalidParameterError

CRS = "EPSG:32616"


def make_grid(nx: int, ny: int, cell: float = 100.0) -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(0, 0, nx * cell, ny * cell, crs=CRS), cell_size=cell)


def make_surface(values: np.ndarray) -> pw.Surface:
    values = np.asarray(values, dtype=float)
    return pw.Surface(values, make_grid(values.shape[1], values.shape[0]), "test")


def make_population(grid: pw.Grid, counts: np.ndarray, groups: list[str]) -> pw.Population:
    full = np.zeros((grid.n_cells, len(groups)))
    full[grid.cell_ids] = counts
    return pw.Population(grid, groups, full, {}, [])


def exposures(units: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return units @ counts / counts.sum(axis=0)


# ---------------------------------------------------------------- top_k


def test_top_k_is_the_ranking_and_ties_go_to_lower_ids():
    v = np.array([[3.0, 1.0, 3.0], [0.5, 3.0, 2.0]])
    a = pw.allocate(make_surface(v), budget=pw.Budget(units=2), strategy="top_k")
    assert a.to_frame(patrolled_only=True)["cell_id"].tolist() == [0, 2]  # three cells tie at 3
    s = make_surface(v)
    assert list(s.ranking()[:2]) == [0, 2]
    assert a.risk_covered == pytest.approx(6.0)
    assert a.price_of_fairness is None and a.audit is None


@settings(max_examples=40, deadline=None)
@given(
    vals=st.lists(st.floats(0, 100, allow_nan=False), min_size=6, max_size=6),
    units=st.integers(1, 8),
    cap=st.integers(1, 3),
)
def test_top_k_is_optimal_against_brute_force(vals, units, cap):
    if units > 6 * cap:
        return
    s = make_surface(np.array(vals).reshape(2, 3))
    a = pw.allocate(s, budget=pw.Budget(units=units, per_cell_cap=cap), strategy="top_k")
    # Brute force over every integer allocation of `units` with at most `cap` per cell.
    r = np.array(vals)
    best = -np.inf
    for combo in np.ndindex(*([cap + 1] * 6)):
        if sum(combo) == units:
            best = max(best, float(np.dot(combo, r)))
    assert a.risk_covered == pytest.approx(best, rel=1e-12, abs=1e-9)
    assert a.units.sum() == pytest.approx(units)
    assert a.units.max() <= cap


# ---------------------------------------------------------------- every strategy: budget & caps


@settings(max_examples=40, deadline=None)
@given(
    vals=st.lists(st.floats(0.01, 50, allow_nan=False), min_size=12, max_size=12),
    units=st.integers(1, 12),
    cap=st.integers(1, 2),
    strategy=st.sampled_from(["top_k", "proportional", "randomized", "fair"]),
    seed=st.integers(0, 2**32),
)
def test_budget_and_caps_never_exceeded(vals, units, cap, strategy, seed):
    s = make_surface(np.array(vals).reshape(3, 4))
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 50, size=(12, 3)).astype(float)
    pop = make_population(s.grid, counts, ["A", "B", "C"])
    a = pw.allocate(s, budget=pw.Budget(units=units, per_cell_cap=cap), strategy=strategy, population=pop, seed=seed)
    assert a.units.sum() == pytest.approx(units, rel=1e-6)
    assert np.all(a.units >= -1e-9) and np.all(a.units <= cap + 1e-9)
    # Exposure computed here from the counts.
    np.testing.assert_allclose(a.exposure.to_numpy(), exposures(a.units, counts), rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------- proportional


def exact_shares(r: np.ndarray, units: float, cap: float) -> np.ndarray:
    """min(cap, θ r) with Σ = units, by bisection on θ (independent of the library)."""
    lo, hi = 0.0, 1.0
    while np.minimum(cap, hi * r).sum() < units:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(cap, mid * r).sum() < units else (lo, mid)
    return np.minimum(cap, hi * r)


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 20)), min_size=20, max_size=20), units=st.integers(1, 30),
       cap=st.integers(1, 4))
def test_proportional_within_one_unit_of_exact_share(vals, units, cap):
    r = np.array(vals)
    if units > cap * (r > 0).sum():
        return
    s = make_surface(r.reshape(4, 5))
    a = pw.allocate(s, budget=pw.Budget(units=units, per_cell_cap=cap), strategy="proportional")
    share = exact_shares(r, units, cap)
    np.testing.assert_allclose(a.expected_units, share, atol=1e-6)
    assert np.all(np.abs(a.units - share) < 1 + 1e-9)
    assert np.all(a.units == np.round(a.units))
    assert a.units.sum() == units


def test_proportional_in_hours():
    s = make_surface(np.array([[3.0, 1.0]]))
    a = pw.allocate(s, budget=pw.Budget(units=1, shift_hours=8), strategy="proportional")
    np.testing.assert_allclose(a.hours, [6.0, 2.0])
    assert "hours" in a.to_frame().columns


# ---------------------------------------------------------------- randomized


def test_randomized_floor_frequencies_and_seed():
    r = np.array([8.0, 4.0, 2.0, 1.0, 0.0, 0.5, 3.0, 0.0, 1.0])
    s = make_surface(r.reshape(3, 3))
    b = pw.Budget(units=3)
    eps = 0.2
    first = pw.allocate(s, budget=b, strategy="randomized", epsilon=eps, seed=5)
    again = pw.allocate(s, budget=b, strategy="randomized", epsilon=eps, seed=5)
    np.testing.assert_array_equal(first.units, again.units)
    # Target (computed here): p = (1-ε) r/Σr + ε/N, expected units min(1, θ p) with Σ = 3.
    p = (1 - eps) * r / r.sum() + eps / r.size
    target = exact_shares(p, 3, 1.0)
    np.testing.assert_allclose(first.expected_units, target, atol=1e-9)
    assert np.all(target >= eps * 3 / r.size - 1e-12)  # the floor
    reps = 3000
    freq = np.zeros_like(r)
    for seed in range(reps):
        freq += pw.allocate(s, budget=b, strategy="randomized", epsilon=eps, seed=seed).units
    freq /= reps
    # Each cell's count is Bernoulli(target): sd ≤ 0.5/√3000 ≈ 0.009; 5 sd.
    np.testing.assert_allclose(freq, target, atol=0.046)


def test_randomized_needs_a_seed():
    s = make_surface(np.ones((2, 2)))
    with pytest.raises(InvalidParameterError, match="seed"):
        pw.allocate(s, budget=1, strategy="randomized")
    with pytest.raises(InvalidParameterError, match="epsilon"):
        pw.allocate(s, budget=1, strategy="randomized", seed=1, epsilon=1.5)


# ---------------------------------------------------------------- fair: LP cross-checks


def linprog_fair(r, counts, units, cap, tau, ref, district_rows=()):
    """The same LP with scipy's HiGHS, written from the definition. ``district_rows`` holds
    (member mask, lower, upper) triples."""
    from scipy.optimize import linprog

    share = counts / counts.sum(axis=0)  # pop_{c,g} / pop_g
    refw = counts.sum(axis=1) / counts.sum() if ref is None else share[:, ref]
    rows = []
    for g in range(counts.shape[1]):
        if g == ref:
            continue
        rows.append(tau * refw - share[:, g])  # tau·E_ref − E_g ≤ 0
        rows.append(tau * share[:, g] - refw)  # tau·E_g − E_ref ≤ 0
    rhs = [0.0] * len(rows)
    for member, lo, hi in district_rows:
        if np.isfinite(hi):
            rows.append(member.astype(float))
            rhs.append(hi)
        if lo > 0:
            rows.append(-member.astype(float))
            rhs.append(-lo)
    res = linprog(-r, A_ub=np.array(rows), b_ub=np.array(rhs), A_eq=np.ones((1, len(r))), b_eq=[units],
                  bounds=[(0, cap)] * len(r), method="highs")
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("tau,reference", [(0.8, None), (0.9, "A"), (0.5, "C"), (1.0, None)])
def test_fair_matches_highs_and_meets_bounds(tau, reference):
    rng = np.random.default_rng(11)
    ny, nx = 12, 15
    r = rng.gamma(0.6, 2.0, size=ny * nx)
    # Segregated groups: each group concentrated in a band of columns.
    counts = rng.integers(0, 8, size=(ny * nx, 3)).astype(float)
    cols = np.arange(ny * nx) % nx
    counts[cols < 5, 0] += 40
    counts[(cols >= 5) & (cols < 10), 1] += 40
    counts[cols >= 10, 2] += 40
    r[cols < 5] *= 3  # risk concentrated where group A lives
    s = make_surface(r.reshape(ny, nx))
    pop = make_population(s.grid, counts, ["A", "B", "C"])
    a = pw.allocate(s, budget=pw.Budget(units=20), strategy="fair", population=pop, tau=tau, reference=reference)
    ref = None if reference is None else ["A", "B", "C"].index(reference)
    want = linprog_fair(r, counts, 20, 1.0, tau, ref)
    # Both solvers stop at ~1e-8 relative gaps; 1e-6 relative is well above that.
    assert a.risk_covered == pytest.approx(want, rel=1e-6)
    e = exposures(a.units, counts)
    base = e[ref] if ref is not None else a.units @ counts.sum(axis=1) / counts.sum()
    assert np.all(e >= tau * base * (1 - 1e-6)) and np.all(e <= base / tau * (1 + 1e-6))
    # Price of fairness against top_k computed separately.
    top = pw.allocate(s, budget=pw.Budget(units=20), strategy="top_k")
    pof = a.price_of_fairness
    assert pof.top_k_risk_covered == pytest.approx(top.risk_covered)
    assert pof.absolute == pytest.approx(top.risk_covered - a.risk_covered, abs=1e-9)
    assert pof.share == pytest.approx(pof.absolute / top.risk_covered)
    if tau < 1:
        assert a.exposure_ratios().between(tau * (1 - 1e-6), 1 / tau * (1 + 1e-6)).all()


def test_fair_on_chicago_matches_highs(chicago):
    """The full bundled grid (150 m, all of Chicago) with its five groups: fair vs HiGHS."""
    grid = chicago.grid
    counts = chicago.population.counts[grid.cell_ids]
    x = grid.counts(chicago.incidents).ravel()[grid.cell_ids]
    s = pw.Surface(grid.counts(chicago.incidents), grid, "counts")
    a = pw.allocate(s, budget=pw.Budget(units=200), strategy="fair", population=chicago.population, tau=0.8)
    want = linprog_fair(x, counts, 200, 1.0, 0.8, None)
    assert a.risk_covered == pytest.approx(want, rel=1e-6)
    e = exposures(a.units, counts)
    avg = a.units @ counts.sum(axis=1) / counts.sum()
    assert np.all(e >= 0.8 * avg * (1 - 1e-6)) and np.all(e <= avg / 0.8 * (1 + 1e-6))
    assert a.price_of_fairness.absolute >= -1e-9
    # With district caps and minimums (police districts by largest overlap).
    b = pw.Budget(units=200, district_minimums={"31": 2, "1": 5}, district_caps={"11": 10})
    d = pw.allocate(s, budget=b, strategy="fair", population=chicago.population, tau=0.8, districts=chicago.districts)
    lab = d.to_frame()["district"].to_numpy()
    rows = [(lab == "31", 2, np.inf), (lab == "1", 5, np.inf), (lab == "11", 0, 10)]
    want = linprog_fair(x, counts, 200, 1.0, 0.8, None, rows)
    assert d.risk_covered == pytest.approx(want, rel=1e-6)
    by = d.to_frame().groupby("district")["units"].sum()
    assert by["31"] >= 2 - 1e-6 and by["1"] >= 5 - 1e-6 and by["11"] <= 10 + 1e-6


# ---------------------------------------------------------------- districts


def test_districts_by_largest_overlap_with_caps_and_minimums():
    import geopandas as gpd
    import shapely

    s = make_surface(np.array([[9.0, 8.0, 1.0, 2.0], [7.0, 6.0, 0.5, 0.2]]))
    # West covers x < 170, east x ≥ 170: column 1 (x 100–200) overlaps west by 70 m and east
    # by 30 m, so it belongs to west; columns 2 and 3 to east.
    west = shapely.box(0, 0, 170, 200)
    east = shapely.box(170, 0, 400, 200)
    layer = gpd.GeoDataFrame({"district": ["W", "E"]}, geometry=[west, east], crs=CRS)
    lab, names = district_of_cells(layer, s.grid)
    # Independent: the largest overlap of each cell square with shapely.
    cells = s.grid.to_geodataframe()
    want = [names[int(np.argmax([c.intersection(west).area, c.intersection(east).area]))] for c in cells.geometry]
    assert [names[i] for i in lab] == want
    b = pw.Budget(units=3, district_caps={"W": 2}, district_minimums={"E": 1})
    a = pw.allocate(s, budget=b, strategy="top_k", districts=layer)
    df = a.to_frame()
    by = df.groupby("district")["units"].sum()
    assert by["W"] == pytest.approx(2) and by["E"] == pytest.approx(1)
    assert df.loc[df["units"] > 0, "cell_id"].tolist() == [0, 1, 3]  # W's best two, E's best one
    # The LP honours them too.
    pop = make_population(s.grid, np.ones((8, 2)) * [[5, 1]], ["A", "B"])
    f = pw.allocate(s, budget=b, strategy="fair", population=pop, districts=layer)
    by = f.to_frame().groupby("district")["units"].sum()
    assert by["W"] <= 2 + 1e-6 and by["E"] >= 1 - 1e-6
    with pytest.raises(InfeasibleError) as ei:
        pw.allocate(s, budget=pw.Budget(units=3, district_minimums={"E": 5}), districts=layer)
    assert ei.value.constraint == "district_minimums[E]"
    with pytest.raises(InvalidParameterError, match="no such district"):
        pw.allocate(s, budget=pw.Budget(units=3, district_caps={"X": 1}), districts=layer)
    with pytest.raises(InvalidParameterError, match="districts"):
        pw.allocate(s, budget=b, strategy="top_k")


def test_chicago_police_districts(chicago):
    lab, names = district_of_cells(chicago.districts, chicago.grid)
    # Polygons sharing a label (district 31 is drawn in pieces) are merged.
    assert names == list(dict.fromkeys(chicago.districts["district"].astype(str)))
    assert set(lab[lab >= 0]) == set(range(len(names)))
    assert (lab >= 0).mean() > 0.95  # nearly every cell of the city lies in a police district


# ---------------------------------------------------------------- plans


def test_plan_two_shifts_and_determinism():
    rng = np.random.default_rng(3)
    day = make_surface(rng.gamma(1.0, 1.0, size=(6, 7)))
    night = pw.Surface(rng.gamma(1.0, 1.0, size=(6, 7)), day.grid, "night")
    plan = pw.allocate_shifts({"day": day, "night": night}, budgets={"day": pw.Budget(units=5), "night": pw.Budget(units=3)},
                              strategy="randomized", seed=42, epsilon=0.1)
    assert plan.names == ["day", "night"]
    assert plan["day"].units.sum() == 5 and plan["night"].units.sum() == 3
    again = pw.allocate_shifts({"day": day, "night": night}, budgets={"day": 5, "night": 3}, strategy="randomized", seed=42,
                               epsilon=0.1)
    for n in plan.names:
        np.testing.assert_array_equal(plan[n].units, again[n].units)
    df = plan.to_frame()
    assert set(df["shift"]) == {"day", "night"} and len(df) == 2 * day.grid.n_active
    assert plan.risk_covered == pytest.approx(plan["day"].risk_covered + plan["night"].risk_covered)
    top = pw.allocate_shifts([day, night], budgets=4)
    np.testing.assert_array_equal(top["shift1"].units, pw.allocate(night, budget=4).units)
    assert "night" in plan._repr_html_()
    with pytest.raises(InvalidParameterError, match="budgets"):
        pw.allocate_shifts([day, night], budgets=[1, 2, 3])


# ---------------------------------------------------------------- exports


def test_exports_and_display(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    s = make_surface(rng.gamma(1.0, 1.0, size=(5, 6)))
    pop = make_population(s.grid, rng.integers(1, 30, size=(30, 2)).astype(float), ["A", "B"])
    a = pw.allocate(s, budget=pw.Budget(units=4), strategy="fair", population=pop, tau=0.9, reference="A",
                    policy=None, override_reason=None)
    gdf = a.to_geodataframe()
    assert len(gdf) == 30 and gdf.crs is not None
    np.testing.assert_allclose(gdf.geometry.area, 100.0 * 100.0)
    path = tmp_path / "a.geojson"
    a.to_geojson(path)
    doc = json.loads(path.read_text())
    assert doc["placewise"]["strategy"] == "fair" and doc["placewise"]["params"]["tau"] == 0.9
    assert sum(f["properties"]["units"] for f in doc["features"]) == pytest.approx(4)
    a.to_csv(tmp_path / "a.csv")
    back = pd.read_csv(tmp_path / "a.csv")
    assert back["units"].sum() == pytest.approx(4)
    ax = a.plot()
    assert "fair" in ax.get_title()
    html = a._repr_html_()
    assert "price of fairness" in html and "Exposure by group" in html
    assert a.units_grid().shape == s.grid.shape
    assert "fair" in repr(a)


def test_docstring_examples_run():
    # `pw.allocate` is the function; the module is reached through the import system.
    module = importlib.import_module("placewise.allocate")
    res = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0


# ---------------------------------------------------------------- bad input


def test_bad_inputs_are_named():
    s = make_surface(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(InfeasibleError) as ei:
        pw.allocate(s, budget=pw.Budget(units=5))
    assert ei.value.constraint == "budget"
    with pytest.raises(InfeasibleError):
        pw.allocate(s, budget=pw.Budget(units=9, per_cell_cap=2))
    with pytest.raises(InvalidParameterError) as ei:
        pw.allocate(s, budget=pw.Budget(units=0))
    assert ei.value.name == "units"
    neg = make_surface(np.array([[1.0, -2.0], [3.0, 4.0]]))
    with pytest.raises(DataValidationError, match="negative") as ei:
        pw.allocate(neg, budget=1)
    assert ei.value.column == "risk" and ei.value.row == 1
    nan = make_surface(np.array([[1.0, 2.0], [3.0, 4.0]]))
    nan.values[1, 0] = np.nan  # Surface refuses NaN at construction; allocate checks again
    with pytest.raises(DataValidationError, match="NaN") as ei:
        pw.allocate(nan, budget=1)
    assert ei.value.row == 2
    zero = make_population(s.grid, np.array([[5.0, 0.0]] * 4), ["A", "B"])
    with pytest.raises(DataValidationError, match="undefined") as ei:
        pw.allocate(s, budget=1, strategy="fair", population=zero)
    assert "B" in str(ei.value)
    ok = make_population(s.grid, np.array([[5.0, 1.0]] * 4), ["A", "B"])
    for tau in [0.0, -0.2, 1.01, float("nan")]:
        with pytest.raises(InvalidParameterError) as ei:
            pw.allocate(s, budget=1, strategy="fair", population=ok, tau=tau)
        assert ei.value.name == "tau"
    with pytest.raises(InvalidParameterError, match="population"):
        pw.allocate(s, budget=1, strategy="fair")
    with pytest.raises(InvalidParameterError, match="reference"):
        pw.allocate(s, budget=1, strategy="fair", population=ok, reference="Z")
    with pytest.raises(InvalidParameterError, match="strategy"):
        pw.allocate(s, budget=1, strategy="best")
    with pytest.raises(InvalidParameterError, match="whole"):
        pw.allocate(s, budget=1.5, strategy="proportional")

"""Property test: random parameter magnitudes (10^-3 … 10^12, and their negatives and integer
versions) fed to every public constructor and estimator give a result or a placewise error,
never a crash and never a foreign exception. It runs in a child process under a 2 GB
address-space limit, so an allocation that escaped the size limits would kill the child (and
fail the test) instead of the test runner."""

from __future__ import annotations

import json
import sys

import pytest
from _capped import run_capped

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is Linux-specific")

SCRIPT = r'''
import json, math, random, time, warnings
warnings.simplefilter("default")  # warnings are results, shown but not errors

region = pw.Region.from_bounds(440000, 4630000, 442000, 4632000, crs="EPSG:32616")
grid = pw.Grid(region, cell_size=100)
rng = np.random.default_rng(0)
n = 300
df = pd.DataFrame({"x": 440000 + rng.uniform(0, 2000, n), "y": 4630000 + rng.uniform(0, 2000, n),
                   "t": pd.date_range("2020-01-01", periods=n, freq="3h").astype(str)})
inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616", tz="UTC")
surface = pw.Naive().fit(inc, grid).predict()

# (name, call taking one magnitude m)
CALLS = [
    ("Region.from_bounds", lambda m: pw.Region.from_bounds(0, 0, m, m, crs="EPSG:32616")),
    ("Grid.cell_size", lambda m: pw.Grid(region, cell_size=m)),
    ("Grid.max_cells", lambda m: pw.Grid(region, cell_size=100, max_cells=int(m))),
    ("Naive.window_days", lambda m: pw.Naive(window_days=m).fit(inc, grid).predict()),
    ("KDE.bandwidth.exact", lambda m: pw.KDE(bandwidth=m).fit(inc, grid).predict()),
    ("KDE.bandwidth.binned", lambda m: pw.KDE(bandwidth=m, mode="binned").fit(inc, grid).predict()),
    ("KDE.cutoff.binned", lambda m: pw.KDE(bandwidth=400, cutoff=m, mode="binned").fit(inc, grid).predict()),
    ("KDE.cutoff.exact", lambda m: pw.KDE(bandwidth=400, cutoff=m).fit(inc, grid).predict()),
    ("KDE.window_days", lambda m: pw.KDE(bandwidth=300, window_days=m).fit(inc, grid).predict()),
    ("KDE.half_life_days", lambda m: pw.KDE(bandwidth=300, half_life_days=m).fit(inc, grid).predict()),
    ("KDE.knn.k", lambda m: pw.KDE(bandwidth="knn", k=int(m)).fit(inc, grid).predict()),
    ("KDE.knn.min_bandwidth", lambda m: pw.KDE(bandwidth="knn", k=5, min_bandwidth=m).fit(inc, grid).predict()),
    ("Retrospective.bandwidth", lambda m: pw.RetrospectiveHotspot(bandwidth=m).fit(inc, grid).predict()),
    ("Retrospective.window_days", lambda m: pw.RetrospectiveHotspot(window_days=m).fit(inc, grid).predict()),
    ("Prospective.bandwidth_cells", lambda m: pw.ProspectiveHotspot(bandwidth_cells=m).fit(inc, grid).predict()),
    ("Prospective.time_bandwidth_weeks", lambda m: pw.ProspectiveHotspot(time_bandwidth_weeks=m).fit(inc, grid).predict()),
    ("SEPP.max_iter", lambda m: pw.SEPP(max_iter=int(min(m, 30))).fit(inc, grid)),
    ("SEPP.tol", lambda m: pw.SEPP(tol=m, max_iter=20).fit(inc, grid)),
    ("Budget.units", lambda m: pw.allocate(surface, budget=pw.Budget(units=m))),
    ("Budget.per_cell_cap", lambda m: pw.allocate(surface, budget=pw.Budget(units=10, per_cell_cap=m))),
    ("allocate.budget", lambda m: pw.allocate(surface, budget=m)),
    ("allocate.seed", lambda m: pw.allocate(surface, budget=10, strategy="randomized", seed=int(m))),
    ("gi_star.distance", lambda m: pw.stats.gi_star(surface, distance=m, permutations=None)),
    ("gi_star.permutations", lambda m: pw.stats.gi_star(surface, distance=300, permutations=int(min(m, 2e6)))),
    ("knox.space", lambda m: pw.stats.knox(inc, [0, m], [0, 7], permutations=9)),
    ("knox.time", lambda m: pw.stats.knox(inc, [0, 200], [0, m], permutations=9)),
    ("knox.permutations", lambda m: pw.stats.knox(inc, [0, 200], [0, 7], permutations=int(min(m, 2e6)))),
    ("emerging.distance", lambda m: pw.stats.emerging_hotspots(inc, grid, step="1D", distance=m)),
    ("emerging.step", lambda m: pw.stats.emerging_hotspots(inc, grid, step=pd.Timedelta(seconds=m))),
    ("ensign.draws", lambda m: pw.audit.ensign_urn(draws=int(m), runs=2)),
    ("ensign.runs", lambda m: pw.audit.ensign_urn(draws=10, runs=int(m))),
    ("ensign.rates", lambda m: pw.audit.ensign_urn(rates=(m, 1.0), draws=10, runs=2)),
    ("concentration.unit", lambda m: pw.audit.concentration(pw.allocate(surface, budget=10), unit=m, simulations=9)),
    ("concentration.simulations", lambda m: pw.audit.concentration(pw.allocate(surface, budget=10), simulations=int(m))),
    ("backtest.step", lambda m: pw.evaluate.backtest([pw.Naive()], inc, grid, start="2020-01-10",
                                                      end="2020-01-20", step=pd.Timedelta(seconds=m), bootstrap=0)),
    ("backtest.bootstrap", lambda m: pw.evaluate.backtest([pw.Naive()], inc, grid, start="2020-01-10",
                                                           end="2020-01-12", step="1D", bootstrap=int(min(m, 1e5)))),
]

random.seed(0)
magnitudes = [10.0 ** k for k in range(-3, 13)]
failures = []
calls = 0
budget_s = float(__BUDGET__)
start = time.monotonic()
for name, call in CALLS:
    picks = random.sample(magnitudes, 4) + [-random.choice(magnitudes), 0.0]
    for m in picks:
        if time.monotonic() - start > budget_s:
            break
        calls += 1
        try:
            call(m)
        except pw.PlacewiseError:
            pass
        except Exception as e:  # anything else is a finding
            failures.append(f"{name}({m!r}): {type(e).__name__}: {e}")
print(json.dumps({"calls": calls, "failures": failures}))
'''


def test_random_magnitudes_give_a_result_or_a_placewise_error():
    r = run_capped(SCRIPT.replace("__BUDGET__", "240"), timeout=600)
    assert r.returncode == 0, f"child died ({r.returncode}): {r.stderr[-3000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["calls"] >= 100, out
    assert out["failures"] == [], "\n".join(out["failures"])

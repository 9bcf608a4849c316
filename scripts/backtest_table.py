"""Regenerates docs/backtest_results.md: every model on the full Chicago and Toronto data,
52 weekly origins, fixed settings, tuned families and the automatic selection against the
naive baseline; PAI and PEI* at 1 % and 5 %, probabilistic scores, paired intervals.

Run: .venv/bin/python scripts/backtest_table.py [SHARED_DATA_DIR] [--origins N]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import placewise as pw
from placewise.selection import AUTO, BASELINE, default_candidates, expand


def candidates(cell: float, layers: dict | None) -> list:
    fixed = {
        "KDE (gaussian, 250 m, 1 y)": pw.KDE(bandwidth=250, mode="binned", window_days=365),
        "ProspectiveHotspot": pw.ProspectiveHotspot(),
        "RetrospectiveHotspot": pw.RetrospectiveHotspot(),
        "SEPP (grid)": pw.SEPP(kind="grid"),
    }
    # the whole default search: 4 families × 4 settings
    return expand(fixed) + default_candidates(cell, layers=layers)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(city: pw.datasets.CityData, start: str, origins: int, layers: dict | None) -> tuple[pw.selection.SelectionResult, str]:
    end = pd.Timestamp(start) + pd.Timedelta(days=7 * origins)
    t0, c0 = time.perf_counter(), _cpu()
    res = pw.evaluate.select(candidates(city.grid.cell_size, layers), city.incidents, city.grid, start=start,
                             end=str(end.date()), metric="pai", coverage=0.01, report_coverages=[0.01, 0.05],
                             history="1095D", lookback=13, bootstrap=2000, seed=0)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return res, f"{time.perf_counter() - t0:.0f} s wall, {_cpu() - c0:.0f} s CPU, load average {load} on 2 cores"


def above_zero(res: pw.selection.SelectionResult) -> list[str]:
    c = res.backtest.compare()
    cp = c[(c["metric"] == "pai") & np.isclose(c["coverage"], 0.01)]
    return cp[cp["ci_low"] > 0]["model"].tolist()


def _ci(m: float, lo: float, hi: float, signed: bool = False) -> str:
    f = "{:+.2f}" if signed else "{:.2f}"
    if not np.isfinite(m):
        return "—"
    return f"{f.format(m)} [{f.format(lo)}, {f.format(hi)}]"


def table(res: pw.selection.SelectionResult) -> str:
    bt = res.backtest
    s = bt.summary()
    order = [BASELINE, AUTO] + [m for m in bt.models if m.startswith("tuned ")] + [
        m for m in bt.models if m not in (BASELINE, AUTO) and not m.startswith("tuned ")]
    cols = [("pai", 0.01), ("pai", 0.05), ("pei_star", 0.01), ("pei_star", 0.05)]
    names = {"pai": "PAI", "pei_star": "PEI*"}
    rows = []
    for m in order:
        r = {"model": m}
        g = s[s["model"] == m]
        for metric, cov in cols:
            x = g[(g["metric"] == metric) & np.isclose(g["coverage"], cov)]
            r[f"{names[metric]} @ {cov:.0%}"] = _ci(*x[["mean", "ci_low", "ci_high"]].iloc[0]) if len(x) else "—"
        for metric, label in (("deviance", "deviance"), ("brier", "Brier ×100")):
            x = g[g["metric"] == metric]
            scale = 100 if metric == "brier" else 1
            r[label] = _ci(*(x[["mean", "ci_low", "ci_high"]].iloc[0] * scale)) if len(x) and np.isfinite(x["mean"].iloc[0]) else "ranks only"
        rows.append(r)
    wide = pd.DataFrame(rows).set_index("model")
    c = bt.compare()
    crow = []
    for m in order[1:]:
        r = {"model": m}
        g = c[c["model"] == m]
        for metric, cov in cols[:2] + [("pei_star", 0.01)]:
            x = g[(g["metric"] == metric) & np.isclose(g["coverage"], cov)]
            r[f"Δ{names[metric]} @ {cov:.0%}"] = (_ci(*x[["mean_difference", "ci_low", "ci_high"]].iloc[0], signed=True)
                                                 + f", better in {x['share_better'].iloc[0]:.0%}") if len(x) else "—"
        x = g[g["metric"] == "deviance"]
        r["Δdeviance"] = _ci(*x[["mean_difference", "ci_low", "ci_high"]].iloc[0], signed=True) if len(x) and np.isfinite(x["mean_difference"].iloc[0]) else "ranks only"
        crow.append(r)
    cw = pd.DataFrame(crow).set_index("model")
    verdicts = []
    cp = c[(c["metric"] == "pai") & np.isclose(c["coverage"], 0.01)]
    above = cp[cp["ci_low"] > 0]["model"].tolist()
    below = cp[cp["ci_high"] < 0]["model"].tolist()
    verdicts.append(f"- Whole 95 % interval above 0 at PAI @ 1 %: {', '.join(above) if above else 'none'}.")
    verdicts.append(f"- Whole interval below 0 (worse than the baseline): {', '.join(below) if below else 'none'}.")
    e = res.evidence()
    verdicts.append(f"- The automatic selection (chosen each week from the 13 weeks before it) vs the baseline: "
                    f"{e['mean_difference']:+.2f} [{e['ci_low']:+.2f}, {e['ci_high']:+.2f}]; the chain would use "
                    f"**{res.chosen}**. {res.plain_words()}")
    picks = res.choices[AUTO].value_counts()
    verdicts.append("- Picks of the automatic selection over the test weeks: "
                    + ", ".join(f"{k} ({v})" for k, v in picks.items()) + ".")
    return (wide.to_markdown() + "\n\nPaired difference against the naive baseline (mean [95 % CI]; deviance: lower is better):\n\n"
            + cw.to_markdown() + "\n\nIn plain words:\n\n" + "\n".join(verdicts))


def both_cities(found: dict[str, list[str]]) -> str:
    """The closing paragraph, from each city's list of rows whose whole 95 % interval
    against the baseline is above 0 at PAI @ 1 %."""
    both = [m for m in next(iter(found.values())) if all(m in v for v in found.values())]
    auto_yes = [k for k, v in found.items() if AUTO in v]
    auto_no = [k for k, v in found.items() if AUTO not in v]
    text = ("## Both cities\n\n"
            "Rows whose whole 95 % interval against the baseline is above 0 at PAI @ 1 % in both cities: "
            + (", ".join(both) if both else "**none**") + ". "
            + " ".join(f"{k}: {', '.join(v) if v else 'none'}." for k, v in found.items()) + "\n\n"
            "The automatic selection — the rule the chain uses, chosen each week from earlier weeks only — beats "
            "the baseline with its whole interval above 0 in "
            + (" and ".join(auto_yes) if auto_yes else "neither city")
            + ("" if not auto_no else f", not in {' and '.join(auto_no)} (there the chain allocates with the baseline)")
            + ". A fixed setting singled out from these tables (a Blend weight, a window) is picked after seeing "
            "the test weeks of both cities, among about 25 rows per city compared without a multiplicity "
            "correction; the *tuned* rows and *Selected (auto)* are the estimates free of that look-ahead.\n")
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.environ.get("PLACEWISE_SHARED_DATA", "../shared/data"))
    ap.add_argument("--origins", type=int, default=52)
    a = ap.parse_args()
    parts = ["# Backtest results on the full data sets\n",
             "Generated by `scripts/backtest_table.py` with `placewise.evaluate.select`: weekly origins, one-week test "
             "windows, 150 m cells. Candidates are fitted on the three years before each origin (the fixed settings "
             "named '1 y' on one year, the hotspot maps on their own windows); the naive baseline is last year's counts. "
             "*Tuned* rows pick, at each test origin, the family's setting with the best mean PAI @ 1 % over the 13 "
             "origins before it; *Selected (auto)* picks across all families and the baseline the same way — no "
             "tuning on the test windows. Intervals are percentile bootstraps over the test origins (2,000 resamples, "
             "seed 0), differences paired by origin. PAI = (n/N)/(a/A); PEI* = n/n*. Deviance and Brier (P(≥ 1 "
             "incident) = 1 − e^{−μ}) score expected counts per cell (floor 0.001) and exist only for models whose "
             "values are counts; the prospective hotspot score only ranks. RiskFactors in Chicago uses the 2017 "
             "point layers (snapshots, applied to 2016–2019). The search is the whole default one "
             "(`placewise.selection.default_candidates`): Naive over 91, 365, 730 and 1095 days; exact KDE (cut at 4 "
             "bandwidths, 3-year window) at 0.5, 0.75, 1 and 1.5 cells; Blend at weights 0.6, 0.8, 0.9, 0.95; "
             "RiskFactors at penalties 1e-4, 1e-3, 1e-2, 1e-1 — plus the fixed models listed. Each city's heading "
             "gives the run's wall and CPU time on the shared 2-core machine.\n"]
    found: dict[str, list[str]] = {}
    for name, loader, start, with_layers in (("Chicago (aggravated assault)", pw.datasets.read_chicago, "2019-01-01", True),
                                             ("Toronto (all MCI)", pw.datasets.read_toronto, "2021-01-01", False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            city = loader(a.data)
            layers = pw.datasets.read_chicago_risk_factors(a.data, crs=city.grid.crs) if with_layers else None
            res, secs = run(city, start, a.origins, layers)
        found[name] = above_zero(res)
        parts.append(f"## {name}: {a.origins} weekly origins from {start} ({secs})\n")
        parts.append(table(res) + "\n")
        kinds = sorted({str(w.message)[:160] for w in caught})
        if kinds:
            parts.append("Warnings raised during this run (distinct messages): " + "; ".join(kinds[:8]) + "\n")
        if len(found) == 2:
            parts.append(both_cities(found))
        out = Path(__file__).resolve().parents[1] / "docs" / "backtest_results.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(parts), encoding="utf-8")  # after each city, so a long run leaves what it has
    print(out.read_text())


if __name__ == "__main__":
    main()

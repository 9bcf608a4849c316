"""Writes the analyst notebooks in notebooks/ (outputs stripped). Edit the cells here, rerun,
and commit both; `make test` executes the notebooks on the bundled data."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parents[1] / "notebooks"

SETUP = """import warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import placewise as pw

warnings.simplefilter("ignore", pw.exceptions.PlacewiseWarning)
city = pw.datasets.load_chicago(cell_size=150)
inc, grid, pop = city.incidents, city.grid, city.population
inc"""

BOOKS: dict[str, list[tuple[str, str]]] = {
    "01_hotspots.ipynb": [
        ("md", "# Hotspots on real data\n\nChicago aggravated assaults 2018–2019 (bundled with placewise), on a 150 m grid "
               "over the 77 community areas. We look at the data first — what was dropped or repaired and why — then at "
               "kernel density and prospective hotspot maps, Getis–Ord Gi* with a multiple-testing correction, emerging "
               "hot spots, and the near-repeat (Knox) table."),
        ("code", SETUP),
        ("md", "## The data-quality report\nEvery row read is either kept or dropped for one stated reason."),
        ("code", "inc.quality"),
        ("code", "print(inc.quality.summary())\ninc.quality.spikes.head()"),
        ("md", "## Kernel density and prospective hotspots\nBoth use only incidents before the prediction time."),
        ("code", "kde = pw.KDE(bandwidth=600, mode=\"binned\", window_days=365).fit(inc, grid)\n"
                 "s_kde = kde.predict(at=\"2019-07-01\")\n"
                 "pro = pw.ProspectiveHotspot().fit(inc, grid)\n"
                 "s_pro = pro.predict(at=\"2019-07-01\")\n"
                 "fig, axes = plt.subplots(1, 2, figsize=(11, 6))\n"
                 "s_kde.plot(ax=axes[0]); s_pro.plot(ax=axes[1])\n"
                 "s_kde.top(5)"),
        ("md", "## Getis–Ord Gi* on counts, with FDR correction\nThe result states its sidedness and correction."),
        ("code", "counts = pw.Surface(grid.counts(inc.between(\"2019-01-01\", \"2020-01-01\")), grid, \"counts 2019\")\n"
                 "gi = pw.stats.gi_star(counts, distance=450, permutations=99, seed=0, correction=\"fdr_bh\")\n"
                 "gi"),
        ("code", "gi.to_frame().head()"),
        ("md", "## Emerging hot spots\nGi* per four-week slice, then a Mann–Kendall trend test per cell."),
        ("code", "ehs = pw.stats.emerging_hotspots(inc, grid, step=\"28D\")\nehs"),
        ("md", "## Near repeats: the Knox table\nDo assaults cluster in space *and* time more than chance?"),
        ("code", "kx = pw.stats.knox(inc.between(\"2019-01-01\", \"2019-07-01\"), space_bands=[0, 100, 200, 400],\n"
                 "                   time_bands=[0, 7, 14, 28], permutations=99, seed=0)\nkx"),
    ],
    "02_choosing_a_model.ipynb": [
        ("md", "# Choosing a model\n\nIs a model better than last period's counts, on our data, by how much, and how sure "
               "are we? A rolling backtest answers with intervals, against the naive baseline that is always included."),
        ("code", SETUP),
        ("code", "res = pw.evaluate.backtest(\n"
                 "    {\"KDE 600 m\": pw.KDE(bandwidth=600, mode=\"binned\", window_days=365),\n"
                 "     \"Prospective\": pw.ProspectiveHotspot(),\n"
                 "     \"SEPP (grid)\": pw.SEPP(kind=\"grid\")},\n"
                 "    inc, grid, start=\"2019-07-01\", end=\"2019-12-29\", step=\"14D\", train_window=\"365D\",\n"
                 "    coverage=[0.01, 0.05], bootstrap=1000, seed=0, progress=False)\nres"),
        ("code", "s = res.summary()\ns[s.metric.isin([\"pai\", \"pei_star\"])]"),
        ("md", "Each model minus the naive baseline, paired by origin. An interval that contains 0 means we cannot tell "
               "them apart; a negative one means the model is worse than last period's counts."),
        ("code", "c = res.compare()\nc[c.metric.isin([\"pai\", \"pei_star\"])]"),
        ("code", "fig, axes = plt.subplots(1, 2, figsize=(12, 4))\nres.plot(\"curves\", ax=axes[0]); res.plot(\"time\", ax=axes[1])"),
        ("md", "## SEPP parameters\nThe self-exciting model says how much of the data is triggered by earlier incidents "
               "(θ), how fast that decays (ω), and — in the space–time version — over what distance (σ)."),
        ("code", "sepp = pw.SEPP(kind=\"grid\").fit(inc.until(\"2019-07-01\"), grid)\n"
                 "pd.Series({\"theta\": sepp.theta_, \"1/omega (days)\": 1 / sepp.omega_, \"log-likelihood\": sepp.loglik_,\n"
                 "           \"iterations\": sepp.n_iter_, \"AIC\": sepp.aic_})"),
    ],
    "03_map_to_plan.ipynb": [
        ("md", "# From map to plan\n\nA risk map is not a plan: a fixed number of units must go somewhere. We compare "
               "strategies and look at who would bear the patrol, then constrain it with the fairness LP and read its "
               "price."),
        ("code", SETUP),
        ("code", "surface = pw.KDE(bandwidth=600, mode=\"binned\", window_days=365).fit(inc, grid).predict(at=\"2019-12-01\")\n"
                 "budget = pw.Budget(units=60)\n"
                 "plans = {s: pw.allocate(surface, budget=budget, strategy=s, population=pop, seed=0)\n"
                 "         for s in [\"top_k\", \"proportional\", \"randomized\"]}\n"
                 "plans[\"fair\"] = pw.allocate(surface, budget=budget, strategy=\"fair\", population=pop, reference=\"WHITE\", tau=0.8)\n"
                 "pd.DataFrame({k: p.summary() for k, p in plans.items()}).T[[\"cells_patrolled\", \"risk_covered\", \"risk_share\"]]"),
        ("md", "Exposure per capita relative to the reference group, for each strategy:"),
        ("code", "pd.DataFrame({k: p.audit.by_group[\"ratio_to_reference\"] for k, p in plans.items()})"),
        ("code", "plans[\"fair\"].price_of_fairness"),
        ("code", "fig, axes = plt.subplots(1, 2, figsize=(12, 6))\nplans[\"top_k\"].plot(ax=axes[0]); plans[\"fair\"].plot(ax=axes[1])"),
        ("md", "## Multi-shift plans\nA different surface per shift, one budget each."),
        ("code", "day = pw.KDE(bandwidth=600, mode=\"binned\").fit(inc, grid).predict(at=\"2019-12-01\")\n"
                 "plan = pw.allocate_shifts({\"day\": day, \"night\": surface}, budgets={\"day\": 40, \"night\": 60}, strategy=\"top_k\")\n"
                 "plan"),
        ("code", "plans[\"fair\"].to_frame(patrolled_only=True).head()"),
    ],
    "04_auditing.ipynb": [
        ("md", "# Auditing an allocation\n\nDisparity with intervals, the data's provenance, the feedback loop (the Ensign "
               "urn and a spatial simulation on this grid, with mitigations), a policy check, the run log, and the full "
               "report an oversight body reads."),
        ("code", SETUP),
        ("code", "surface = pw.KDE(bandwidth=600, mode=\"binned\", window_days=365).fit(inc, grid).predict(at=\"2019-12-01\")\n"
                 "plan = pw.allocate(surface, budget=pw.Budget(units=60), strategy=\"top_k\", population=pop, seed=0)\n"
                 "plan.audit"),
        ("code", "plan.audit.ratio()"),
        ("code", "plan.concentration"),
        ("md", "## Data provenance"),
        ("code", "pw.audit.data_provenance(inc, population=pop)"),
        ("md", "## The Ensign et al. (2018) urn\nThe Oakland example: without the correction the patrol share runs away; "
               "with it, it converges to the truth."),
        ("code", "plain = pw.audit.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=200, seed=0)\n"
                 "fixed = pw.audit.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=200, seed=0, correction=True)\n"
                 "pd.DataFrame([plain.summary(), fixed.summary()])"),
        ("md", "## A spatial feedback simulation on this grid, with mitigations"),
        ("code", "truth = pw.KDE(bandwidth=600, mode=\"binned\").fit(inc, grid).predict()\n"
                 "fb = pw.audit.compare_mitigations(grid=grid, truth=truth, budget=60, rounds=10, replicates=2,\n"
                 "                                  incidents_per_round=300.0, population=pop, seed=0)\n"
                 "fb.table()"),
        ("md", "## Policy, override and run log"),
        ("code", "import tempfile, os\n"
                 "policy = pw.AuditPolicy.from_file(\"../audits/policy.toml\")\n"
                 "try:\n"
                 "    pw.allocate(surface, budget=pw.Budget(units=60), strategy=\"top_k\", population=pop, policy=policy)\n"
                 "except pw.PolicyViolation as e:\n"
                 "    print(\"blocked:\", *e.checks, sep=\"\\n  \")\n"
                 "fair = pw.allocate(surface, budget=pw.Budget(units=60), strategy=\"fair\", population=pop, reference=\"WHITE\",\n"
                 "                   policy=policy)\n"
                 "log = pw.RunLog(os.path.join(tempfile.mkdtemp(), \"runs.jsonl\"))\n"
                 "log.append(pw.runlog.make_record(inputs={\"incidents\": inc, \"population\": pop}, outputs={\"dose\": fair.dose},\n"
                 "                                 params={\"strategy\": \"fair\"}, seed=0, audit=fair.audit))\n"
                 "log.verify()"),
        ("md", "## The report"),
        ("code", "report = pw.report.AuditReport(title=\"Chicago — notebook audit\", incidents=inc, plan=fair, feedback=fb,\n"
                 "                               urn=plain, run_log=log, policy=policy)\n"
                 "path = os.path.join(tempfile.mkdtemp(), \"audit.html\")\nreport.to_html(path)\nreport"),
    ],
    "05_risk_factors.ipynb": [
        ("md", "# Risk factors and the model choice\n\nWhich places raise the risk of an aggravated assault in Chicago, "
               "and by how much? A risk-terrain style Poisson model relates each cell's assaults in the next week to its "
               "own recent history, its neighbours', near repeats, and — when the full data folder is present — the "
               "distance to and density of bus stops, 'L' stations, liquor outlets, vacant buildings, street lights "
               "out, sanitation complaints and schools (2017 snapshots from the City of Chicago portal). Then the model "
               "takes its place in a rolling model selection against last year's counts."),
        ("code", SETUP + "\nimport os\nfrom pathlib import Path\n"
                 "data = Path(os.environ.get(\"PLACEWISE_SHARED_DATA\", \"../../shared/data\"))\n"
                 "layers = (pw.datasets.read_chicago_risk_factors(data, crs=grid.crs)\n"
                 "          if (data / \"chicago_risk_factors_2017\").exists() else None)\n"
                 "print(\"point layers:\", \"none (the full data folder was not found)\" if layers is None else list(layers))"),
        ("md", "## Relative risks\nOne unit of each factor multiplies the expected count by its relative risk; the "
               "interval is a 95 % Wald interval whose standard errors are scaled by the Pearson overdispersion "
               "(stated below). Distances are in km (capped at 2 km), counts and densities enter as ln(1 + x)."),
        ("code", "rf = pw.RiskFactors(layers=layers, training_origins=8).fit(inc.until(\"2019-12-01\"), grid)\n"
                 "print(f\"overdispersion φ = {rf.dispersion_:.2f}, deviance explained {rf.deviance_explained_:.1%}\")\n"
                 "rf.relative_risks_[[\"factor\", \"relative_risk\", \"ci_low\", \"ci_high\", \"unit\"]].round(3)"),
        ("code", "rr = rf.relative_risks_\n"
                 "fig, ax = plt.subplots(figsize=(6, 0.35 * len(rr) + 1))\n"
                 "y = np.arange(len(rr))\n"
                 "ax.errorbar(rr[\"relative_risk\"], y, xerr=[rr[\"relative_risk\"] - rr[\"ci_low\"], rr[\"ci_high\"] - rr[\"relative_risk\"]],\n"
                 "            fmt=\"o\")\n"
                 "ax.axvline(1, color=\"grey\", ls=\":\"); ax.set_xscale(\"log\")\n"
                 "ax.set_yticks(y, rr[\"factor\"]); ax.set_xlabel(\"relative risk per unit (95 % CI)\");"),
        ("md", "## Is it calibrated?\nPredicted against observed counts in December 2019's first week, by decile of the forecast."),
        ("code", "s = rf.predict(at=\"2019-12-01\", horizon=\"7D\")\n"
                 "cal = pw.evaluate.calibration(s, inc.between(\"2019-12-01\", \"2019-12-08\"))\n"
                 "cal.plot(); cal.frame.round(3)"),
        ("md", "## In the model selection\nWeekly test origins from 6 October to 1 December 2019; at each, the search picks from the origins before "
               "it. The chain would act on the pick only if it beats last year's counts with its whole interval above 0."),
        ("code", "res = pw.evaluate.select({\"RiskFactors\": (pw.RiskFactors(layers=layers, training_origins=4), {\"alpha\": [1e-4, 1e-2]}),\n"
                 "                          \"Blend\": (pw.Blend(long_window_days=730), {\"weight\": [0.8, 0.95]})},\n"
                 "                         inc, grid, start=\"2019-10-06\", end=\"2019-12-01\", history=\"730D\", lookback=4,\n"
                 "                         bootstrap=500)\n"
                 "print(res.plain_words())\nres.table().round(3)"),
    ],
}


BOOKS["05_auditing_another_system.ipynb"] = [
    ("md", "# Auditing another system, and what patrols actually did\n\nPlainfield, N.J. ran PredPol (Geolitica). "
           "The Markup published its predictions per block group and the prediction boxes (bundled with placewise, "
           "BSD-3-Clause), and the city's patrol dosage records (read from `../shared/data` when present). We ask who "
           "lives where the system pointed, whether random targeting could have produced the differences, and whether "
           "patrols went where the boxes were."),
    ("code", "import os, warnings\nfrom pathlib import Path\nimport matplotlib\nmatplotlib.use(\"Agg\")\n"
             "import pandas as pd\nimport placewise as pw\n\n"
             "bg, boxes = pw.datasets.load_plainfield()\n"
             "groups = [\"white_alone\", \"latino_alone\", \"black_alone\", \"asian_alone\"]\nbg.head()"),
    ("md", "## The targeting audit\nBox centres (lon/lat) are assigned to block groups; boxes outside every block "
           "group are counted, not dropped. Windows follow The Markup's rules (5 % of areas, ties by population)."),
    ("code", "a = pw.audit.targeting(boxes, bg, x=\"lon\", y=\"lat\", crs=\"EPSG:4326\", count=\"pred_count\",\n"
             "                       groups=groups, total=\"total_estimate\", area_id=\"id\", jurisdiction=\"Plainfield, N.J.\",\n"
             "                       period=\"2018-02-24 to 2020-03\", permutations=999, seed=0)\n"
             "print(a.accounting.summary())\na.windows[[\"window\", \"group\", \"share\", \"overall\", \"difference\", \"p_higher\", \"mde_higher\"]]"),
    ("md", "`mde_higher` is the smallest excess (as a share) that the permutation test could have detected with 35 "
           "block groups and windows of 3: differences below it are within what random targeting produces."),
    ("code", "a.above_median"),
    ("code", "a.deciles"),
    ("code", "import tempfile\nsheet = Path(tempfile.mkdtemp()) / \"plainfield_datasheet.html\"\n"
             "html = a.datasheet(sheet)  # one page: open it in a browser\nprint(sheet, len(html), \"characters\")"),
    ("md", "## Patrol dosage (when the records are available)\nEvery row read is kept or dropped for a named reason."),
    ("code", "shared = Path(os.environ.get(\"PLACEWISE_SHARED_DATA\", \"../../shared/data\")) / \"plainfield_predpol_2018_2020\"\n"
             "dosage = shared / \"plainfield_patrol_dosage.csv\"\n"
             "if dosage.exists():\n"
             "    with warnings.catch_warnings():\n"
             "        warnings.simplefilter(\"default\")\n"
             "        p = pw.Patrols.from_csv(dosage, x=\"Longitude\", y=\"Latitude\", start=\"Started\", end=\"Ended\",\n"
             "                                minutes=\"Time Spent\", unit=\"Unit ID\", tz=\"America/New_York\",\n"
             "                                time_format=\"%m/%d/%Y %H:%M\")\n"
             "    print(p.quality.summary())\n"
             "    region = pw.Region.from_geodataframe(bg, crs=p.crs)\n"
             "    grid = pw.Grid(region, cell_size=150)\n"
             "    pop = pw.Population.from_geodataframe(bg, groups=groups, grid=grid, area_id=\"id\")\n"
             "    exposure = pw.audit.disparity(p.dose(grid, \"minutes\"), pop, bootstrap=199, seed=0)\n"
             "    c = pw.audit.compliance(p, boxes, grid, x=\"lon\", y=\"lat\", crs=\"EPSG:4326\", count=\"pred_count\",\n"
             "                            areas=bg, area_id=\"id\", population=pop, planned_minutes=15)\n"
             "    print(c.statement())\n"
             "    display(exposure.by_group[[\"rate\", \"ratio_to_overall\", \"ratio_to_overall_low\", \"ratio_to_overall_high\"]])\n"
             "else:\n"
             "    print(\"patrol dosage records not found at\", dosage)"),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    for name, cells in BOOKS.items():
        if only and name not in only:
            continue
        nb = nbf.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
        nbf.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()

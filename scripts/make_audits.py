"""Regenerates the example audit reports in audits/ from the full data sets in ../shared/data
(`make audits`): Chicago (aggravated assaults, ACS race/ethnicity) and Toronto (major crime
indicators, 2016 census visible-minority groups). Each folder gets the HTML, JSON and Markdown
report, the allocation (GeoJSON, CSV) and the run log."""

from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import placewise as pw
from placewise.pipeline import run_chain

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PLACEWISE_SHARED_DATA", ROOT.parent / "shared" / "data"))
    policy = pw.AuditPolicy.default()
    runs = [
        ("chicago", pw.datasets.read_chicago, dict(at="2019-12-01", backtest_start="2019-06-02", reference="WHITE",
                                                   title="placewise audit report — Chicago aggravated assaults 2010–2019"),
         {"purpose": "Example audit on public data: a fairness-constrained plan for 60 patrol units in December 2019.",
          "operator": "placewise maintainers (example; no agency)"}),
        ("toronto", pw.datasets.read_toronto, dict(at="2021-12-01", backtest_start="2021-06-06", reference="not_visible_minority",
                                                   title="placewise audit report — Toronto major crime indicators 2014–2021"),
         {"purpose": "Example audit on public data: a fairness-constrained plan for 60 patrol units in December 2021.",
          "operator": "placewise maintainers (example; no agency)",
          "affected_groups": "Residents by 2016 census visible-minority category (25 % sample)."}),
    ]
    for name, loader, kw, context in runs:
        out = ROOT / "audits" / name
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
            warnings.simplefilter("always")
            city = loader(data)
            try:
                run_chain(city, out, models=("kde", "prospective", "sepp"), model="kde", units=60, strategy="fair",
                          policy=policy, seed=0, context=context, say=print, progress=False,
                          feedback_rounds=30, feedback_replicates=4, **kw)
            except pw.PolicyViolation as e:
                print(f"{name}: the plan failed the policy (recorded in the report): {e.failed_checks}")
        print(f"{name}: written to {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

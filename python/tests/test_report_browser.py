"""Open the HTML audit report in a real headless browser (Debian's chromium, installed by
`make test`) and check that every section and every image renders, without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import pytest

import placewise as pw
from placewise.report import AuditReport

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CHECK = """
<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const sections = Array.from(document.querySelectorAll("section")).filter(s => s.offsetHeight > 0).map(s => s.id);
  const pre = document.createElement("pre");
  pre.id = "placewise-check";
  pre.textContent = JSON.stringify({images: imgs.length, broken: bad, sections: sections});
  document.body.appendChild(pre);
});
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it with apt-get)")
def test_report_renders_in_chromium(chicago, tmp_path) -> None:
    import json

    with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
        warnings.simplefilter("always")
        s = pw.KDE(bandwidth=600, mode="binned").fit(chicago.incidents.until("2019-07-01"), chicago.grid).predict(at="2019-07-01")
        plan = pw.allocate(s, budget=pw.Budget(units=40), strategy="fair", reference="WHITE", population=chicago.population)
        bt = pw.evaluate.backtest([pw.KDE(bandwidth=600, mode="binned")], chicago.incidents, chicago.grid,
                                  start="2019-05-01", end="2019-07-01", progress=False, bootstrap=100)
        fb = pw.audit.compare_mitigations(grid=chicago.grid, truth=s, budget=40, rounds=3, replicates=2, incidents_per_round=300.0)
        urn = pw.audit.ensign_urn(rates=(3.68511, 2.816466), prior=(609, 379), draws=1000, runs=20, seed=0)
        log = pw.RunLog(tmp_path / "runs.jsonl")
        log.append({"note": "browser test"})
        report = AuditReport(title="Browser check", incidents=chicago.incidents, backtest=bt, plan=plan, feedback=fb, urn=urn,
                             run_log=log)
    html = report.to_html()
    n_figures = len(re.findall(r"<img ", html))
    assert n_figures >= 5
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<pre id="placewise-check">(.*?)</pre>', proc.stdout, re.S)
    assert m, proc.stdout[-2000:]
    result = json.loads(m.group(1).replace("&quot;", '"'))
    assert result["images"] == n_figures and result["broken"] == 0, result
    expected = ["summary", "verdicts"] + [sec["id"] for sec in report.document["sections"]]
    assert result["sections"] == expected
    # the report has no scripts of its own, so any console message (chromium logs console.error
    # and uncaught errors as ":CONSOLE:" lines) is a problem
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console

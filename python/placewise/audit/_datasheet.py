"""One-page datasheet of a targeting audit (HTML or Markdown), in the spirit of The Markup's
per-agency datasheets: who lives in the most, median and least targeted areas, against the
jurisdiction as a whole."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from ..report._format import number, of, percent, points

if TYPE_CHECKING:
    from ._targeting import TargetingAudit

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:900px;margin:1.5em auto;color:#222;font-size:14px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:12px}"
    "img{max-width:100%}"
)


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _window_table(a: TargetingAudit) -> tuple[list[str], list[list[str]]]:
    head = ["Group", "Whole jurisdiction", "Most targeted", "Median targeted", "Least targeted",
            "Most targeted vs jurisdiction"]
    rows = []
    w = a.windows
    for g in a.groups:
        r = {x: w[(w["window"] == x) & (w["group"] == g)].iloc[0] for x in ("most", "median", "least")}
        rel = r["most"]["relative_increase"]
        rows.append([g, percent(r["most"]["overall"]), percent(r["most"]["share"]), percent(r["median"]["share"]),
                     percent(r["least"]["share"]), "n/a" if np.isnan(rel) else f"{rel:+.0%}"])
    return head, rows


def _bounds_table(a: TargetingAudit) -> tuple[list[str], list[list[str]]] | None:
    if not a.params.get("bounds"):
        return None
    head = ["Group", "Window", "Share (lower bound)", "Share (estimate)", "Share (upper bound)",
            "Jurisdiction (lower – upper)", "Higher under every bound"]
    rows = []
    for r in a.windows.itertuples():
        rows.append([r.group, r.window, percent(r.share_lower), percent(r.share), percent(r.share_upper),
                     f"{percent(r.overall_lower)} – {percent(r.overall_upper)}", "yes" if r.higher_under_every_bound else "no"])
    return head, rows


def _test_table(a: TargetingAudit) -> tuple[list[str], list[list[str]]]:
    correction = str(a.params.get("correction", "none"))
    head = ["Group", "Window", "Difference from jurisdiction", "Smallest excess detectable",
            "Chance of this excess under random targeting",
            f"The same, corrected for {int(a.params.get('family_size', 0))} tests ({CORRECTION_NAMES.get(correction, correction)})",
            "Reading"]
    rows = []
    alpha = 1 - float(a.params.get("confidence", 0.95))
    for r in a.windows.itertuples():
        if np.isnan(r.p_higher):
            reading = "not tested"
        elif r.p_higher_adjusted <= alpha:
            reading = "higher beyond chance"
        elif r.p_lower_adjusted <= alpha:
            reading = "lower beyond chance"
        elif r.p_higher <= alpha or r.p_lower <= alpha:
            reading = "beyond chance for this test alone, not after correction for the others"
        elif r.difference > 0 and r.difference < r.mde_higher:
            reading = "higher, but within what random targeting produces"
        else:
            reading = "within what random targeting produces"
        rows.append([r.group, r.window, points(r.difference), points(r.mde_higher),
                     "n/a" if np.isnan(r.p_higher) else f"{r.p_higher:.3f}",
                     "n/a" if np.isnan(r.p_higher_adjusted) else f"{r.p_higher_adjusted:.3f}", reading])
    return head, rows


CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "none": "no correction"}


def _above_table(a: TargetingAudit) -> tuple[list[str], list[list[str]]]:
    head = ["Group", "Share of the group living in areas above the median count",
            "Share of all residents living there"]
    rows = [[r.group, percent(r.share_of_group_above_median), percent(r.share_of_residents_above_median)]
            for r in a.above_median.itertuples()]
    return head, rows


def _decile_table(a: TargetingAudit) -> tuple[list[str], list[list[str]]]:
    head = ["Decile of count", "Counts from – to", "Areas", "Predictions", "Residents"] + list(a.groups)
    rows = []
    for d in a.deciles.to_dict(orient="records"):
        rows.append([str(d["decile"]), f"{number(d['count_from'])} – {number(d['count_to'])}", number(d["areas"]),
                     number(d["predictions"]), number(d["population"])] + [percent(d[g]) for g in a.groups])
    return head, rows


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{_esc(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{b}</table>"


def _md_cell(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_cell(c) for c in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _facts(a: TargetingAudit) -> list[tuple[str, str]]:
    acc = a.accounting
    facts = [
        ("Period", a.period),
        ("Areas", number(len(a.areas))),
        ("Predictions assigned to areas", of(acc.count_assigned, acc.count_read)),
        ("Prediction rows outside every area", f"{number(acc.rows_outside)} rows ({number(acc.count_outside)} predictions), counted and left out"),
        ("Window size", f"{a.window_size + 1} areas each (w = {a.window_size}, {a.params.get('window_share', 0.05):.0%} of areas)"),
        ("Least-targeted rule", str(a.params.get("least"))),
        ("Median count per area", number(a.params.get("median_count"))),
    ]
    if acc.areas_without_population:
        facts.append(("Areas without residents", number(len(acc.areas_without_population))))
    return facts


def _figure(a: TargetingAudit) -> str | None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from ..report import figure
    from ..report._format import area_map

    ncols = 2 if a.geometry is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4.2))
    axes = np.atleast_1d(axes)
    ax = axes[0]
    w = a.windows
    xs = np.arange(len(a.groups))
    width = 0.2
    for k, (name, col) in enumerate([("jurisdiction", None), ("most", "most"), ("median", "median"), ("least", "least")]):
        vals = [float(w[(w["window"] == "most") & (w["group"] == g)]["overall"].iloc[0]) if col is None
                else float(w[(w["window"] == col) & (w["group"] == g)]["share"].iloc[0]) for g in a.groups]
        ax.bar(xs + (k - 1.5) * width, vals, width, label=name if col is None else f"{name} targeted")
    ax.set_xticks(xs)
    ax.set_xticklabels(a.groups, rotation=20, ha="right", fontsize=8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of residents")
    ax.legend(fontsize=7)
    ax.set_title("Who lives where the system points", fontsize=10)
    if a.geometry is not None:
        g = a.geometry.copy()
        area_map(axes[1], g, column="count", names="name" if "name" in g.columns else None,
                 legend_label="predictions per area")
        for wname, colour in (("most", "#b00000"), ("least", "#1f5fbf")):
            sel = g[g["window"] == wname]
            if len(sel):
                sel.boundary.plot(ax=axes[1], color=colour, linewidth=2)
        axes[1].set_title("Predictions per area (red outline: most targeted; blue: least)", fontsize=9)
    fig.tight_layout()
    return figure(fig, "Shares of residents by window, and the map of counts per area.")["data_uri"]


def datasheet_html(a: TargetingAudit) -> str:
    from ._targeting import METHOD

    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Targeting datasheet: {_esc(a.jurisdiction)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Targeting datasheet: {_esc(a.jurisdiction)}</h1>",
             "<table>" + "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in _facts(a)) + "</table>",
             "<h2>Who lives in the most, median and least targeted areas</h2>", _html_table(*_window_table(a))]
    img = _figure(a)
    if img:
        parts.append(f"<img alt='Shares of residents by window, and map of counts per area' src='{img}'>")
    b = _bounds_table(a)
    if b:
        parts += ["<h2>Under the margins of error of the population estimates</h2>", _html_table(*b)]
    parts += ["<h2>Could random targeting produce these differences?</h2>", _html_table(*_test_table(a)),
              "<h2>Living above the median count</h2>", _html_table(*_above_table(a)),
              "<h2>Deciles of count and their composition</h2>", _html_table(*_decile_table(a))]
    if a.correlation is not None:
        rows = [[r.measure, number(r.total), f"{r.pearson:.2f}", f"{r.spearman:.2f}"] for r in a.correlation.itertuples()]
        parts += ["<h2>Counts against recorded measures</h2>",
                  _html_table(["Measure", "Total recorded", "Pearson correlation", "Rank (Spearman) correlation"], rows)]
    parts += [f"<p class='note'>Method: {_esc(METHOD)}</p>",
              "<p class='note'>Shares are of residents of the areas (census estimates), not of people stopped or "
              "arrested; a group's higher share in targeted areas describes where the system sends attention, "
              "not why.</p></body></html>"]
    return "\n".join(parts)


def datasheet_markdown(a: TargetingAudit) -> str:
    from ._targeting import METHOD

    out = [f"# Targeting datasheet: {_md_cell(a.jurisdiction)}", ""]
    out += [_md_table(["Fact", "Value"], [[k, v] for k, v in _facts(a)]), ""]
    out += ["## Who lives in the most, median and least targeted areas", "", _md_table(*_window_table(a)), ""]
    b = _bounds_table(a)
    if b:
        out += ["## Under the margins of error of the population estimates", "", _md_table(*b), ""]
    out += ["## Could random targeting produce these differences?", "", _md_table(*_test_table(a)), ""]
    out += ["## Living above the median count", "", _md_table(*_above_table(a)), ""]
    out += ["## Deciles of count and their composition", "", _md_table(*_decile_table(a)), ""]
    if a.correlation is not None:
        rows = [[r.measure, number(r.total), f"{r.pearson:.2f}", f"{r.spearman:.2f}"] for r in a.correlation.itertuples()]
        out += ["## Counts against recorded measures", "",
                _md_table(["Measure", "Total recorded", "Pearson correlation", "Rank (Spearman) correlation"], rows), ""]
    out += [f"Method: {METHOD}", ""]
    return "\n".join(out)


def _summary_table(table: Any) -> tuple[list[str], list[list[str]]]:
    from ._targeting import WINDOW_LABELS

    correction = str(table.attrs.get("correction", "none"))
    head = ["Group", "Window", "Jurisdictions", "Share higher than jurisdiction", "Higher under every bound",
            f"Higher beyond chance ({CORRECTION_NAMES.get(correction, correction)} over "
            f"{number(table.attrs.get('family_size', 0))} tests)", "Higher beyond chance (each test alone)",
            "Mean relative increase"]
    rows = [[r.group, WINDOW_LABELS.get(r.window, r.window), number(r.jurisdictions),
             f"{number(r.higher)} of {number(r.jurisdictions)}",
             number(r.higher_under_every_bound), number(r.higher_beyond_chance), number(r.higher_beyond_chance_raw),
             "n/a" if np.isnan(r.mean_relative_increase) else f"{r.mean_relative_increase:+.0%}"]
            for r in table.itertuples()]
    return head, rows


SUMMARY_NOTE = ("For each group and window: in how many jurisdictions the group's share of the window's residents is "
                "higher than its share of the jurisdiction, by the estimate, under every bound of the population "
                "estimates, and beyond what random targeting produces (permutation p-values corrected over all "
                "jurisdictions' tests); the mean relative increase is (window share − jurisdiction share) ÷ "
                "jurisdiction share, averaged over jurisdictions.")


def summary_html(table: Any, links: Any = None) -> str:
    """The cross-jurisdiction summary as an HTML page (``links``: jurisdiction → datasheet path)."""
    head, rows = _summary_table(table)
    sheets = ""
    if links:
        items = "".join(f"<li><a href='{_esc(path)}'>{_esc(name)}</a></li>" for name, path in links.items())
        sheets = f"<h2>Datasheets</h2><ul>{items}</ul>"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Targeting across jurisdictions</title>"
            f"<style>{_CSS}</style></head><body><h1>Targeting across jurisdictions</h1>"
            f"<p>{_esc(SUMMARY_NOTE)}</p>{_html_table(head, rows)}{sheets}</body></html>")


def summary_markdown(table: Any, links: Any = None) -> str:
    """The cross-jurisdiction summary as Markdown."""
    head, rows = _summary_table(table)
    out = ["# Targeting across jurisdictions", "", SUMMARY_NOTE, "", _md_table(head, rows), ""]
    if links:
        out += ["## Datasheets", ""] + [f"- [{name}]({path})" for name, path in links.items()] + [""]
    return "\n".join(out)

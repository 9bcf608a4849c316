"""A plain report of actual patrol dosage: what was read and kept, exposure by group on actual
minutes, compliance with a recommendation, and concentration against need with its power."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from ._format import number, of, percent

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:1.5em auto;color:#222;font-size:14px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:12px}"
)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{b}</table>"


def _md(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(_md(c) for c in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _sections(patrols: Any, exposure: Any, comp: Any, need: Any, by_area: pd.DataFrame) -> list[tuple[str, list[str], list[tuple[list[str], list[list[str]]]]]]:
    q = patrols.quality
    secs = []
    rows = [["rows read", number(q.rows_read)], ["rows kept", number(q.rows_kept)]]
    rows += [[f"dropped: {k.replace('_', ' ')}", number(v)] for k, v in q.dropped.items() if v]
    rows += [[f"repaired: {k.replace('_', ' ')}", number(v)] for k, v in q.repaired.items() if v]
    paras = [f"Source: {patrols.source or 'not provided'}; {number(len(patrols))} visits, "
             f"{number(round(float(patrols.minutes.sum())))} minutes, {len(patrols.units)} units. Every row read is "
             "either kept or dropped for one named reason."]
    secs.append(("What was read", paras, [(["", "rows"], rows)]))

    bg = exposure.by_group
    rows = [[g, number(r["population"]), f"{r['rate']:.3f}", f"{r['ratio_to_overall']:.2f}",
             f"{r['ratio_to_overall_low']:.2f} – {r['ratio_to_overall_high']:.2f}"] for g, r in bg.iterrows()]
    secs.append(("Exposure by group on actual patrol minutes",
                 ["Patrol minutes per resident's cell, averaged over each group's residents, against all residents. "
                  "Intervals are percentile bootstrap intervals over cells."],
                 [(["Group", "Residents", "Minutes per resident", "Ratio to all residents", "95 % interval"], rows)]))
    if comp is not None:
        t: list[tuple[list[str], list[list[str]]]] = []
        if comp.by_group is not None:
            t.append((["Group", "Residents in recommended cells", "Share of them in visited cells",
                       "Patrol minutes per resident"],
                      [[r.group, number(round(r.residents_in_recommended_cells)), percent(r.share_of_those_in_visited_cells),
                        f"{r.patrol_minutes_per_resident:.3f}"] for r in comp.by_group.itertuples()]))
        if comp.by_area is not None:
            cols = ["Area", "Recommended cells", "Visited", "Share visited", "Minutes in recommended cells"]
            rr = []
            for r in comp.by_area.itertuples():
                rr.append([str(r.area), number(r.recommended_cells), number(r.visited_cells), percent(r.share_visited),
                           number(round(r.minutes_in_recommended))])
            t.append((cols, rr))
        secs.append(("Compliance with the recommendation", [comp.statement()], t))
    if need is not None:
        tab = need.table
        rows = [[str(r["area"]), number(round(r["patrol"])), number(r["need"]), percent(r["patrol_share"]),
                 percent(r["need_share"]),
                 "n/a" if "patrol_per_1000_residents_smoothed" not in tab.columns or np.isnan(r["patrol_per_1000_residents_smoothed"])
                 else number(round(r["patrol_per_1000_residents_smoothed"]))] for _, r in tab.iterrows()]
        ctx = need.context
        paras = [need.statement()]
        if "cell_gini" in ctx:
            paras.append(f"For context only: the Gini of patrol minutes across grid cells is {ctx['cell_gini']:.3f} "
                         f"({number(ctx['cells_patrolled'])} cells patrolled); at cell level almost any small budget is "
                         "near 1, so it is not used as a check.")
        secs.append(("Concentration against need, by area", paras,
                     [(["Area", "Patrol minutes", "Recorded incidents", "Share of patrol", "Share of incidents",
                        "Patrol minutes per 1,000 residents (smoothed)"], rows)]))
    outside = by_area[by_area["area"].isna()]
    if len(outside) and float(outside["visits"].iloc[0]) > 0:
        secs.append(("Visits outside every area", [f"{of(outside['visits'].iloc[0], by_area['visits'].sum())} visits "
                                                    "fell outside every area; they are counted here and in no area."], []))
    return secs


def dosage_page(patrols: Any, exposure: Any, comp: Any, need: Any, by_area: pd.DataFrame,
                deployment: Any = None) -> tuple[str, str, dict[str, Any]]:
    """(HTML, Markdown, JSON document) of a dosage audit; with a ``deployment`` record, a
    crosswalk section answers the oversight instruments' items from it."""
    from .._jsonable import jsonable
    from ..audit._need import METHOD

    secs = _sections(patrols, exposure, comp, need, by_area)
    if deployment is not None:
        from .crosswalk import crosswalk_page_parts

        paras, head, rows = crosswalk_page_parts(deployment, {"dosage": True, "disparity": True})
        secs.append(("What oversight instruments ask, and where this report answers", paras, [(head, rows)]))
    h = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Patrol dosage audit</title><style>{_CSS}</style>"
         "</head><body><h1>Patrol dosage audit</h1>"]
    m = ["# Patrol dosage audit", ""]
    for title, paras, tables in secs:
        h.append(f"<h2>{html.escape(title)}</h2>")
        m += [f"## {_md(title)}", ""]
        for p in paras:
            h.append(f"<p>{html.escape(p)}</p>")
            m += [_md(p), ""]
        for head, rows in tables:
            h.append(_html_table(head, rows))
            m += [_md_table(head, rows), ""]
    h.append(f"<p class='note'>{html.escape(METHOD)}</p></body></html>")
    m += [METHOD, ""]
    doc = jsonable({
        "quality": patrols.quality.to_dict(),
        "exposure": exposure.to_dict() if hasattr(exposure, "to_dict") else None,
        "compliance": None if comp is None else comp.summary(),
        "need": None if need is None else need.summary(),
        "dose_by_area": by_area.to_dict(orient="records"),
        "deployment": None if deployment is None else dict(deployment.answers),
    })
    return "\n".join(h), "\n".join(m), doc

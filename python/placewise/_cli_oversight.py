"""Command-line audits of another system's output and of actual patrol dosage:
``placewise audit targeting …`` and ``placewise audit dosage …`` (also spelled
``audit-targeting`` / ``audit-dosage``)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

ALIASES = {"targeting": "audit-targeting", "dosage": "audit-dosage"}


def rewrite_argv(argv: list[str]) -> list[str]:
    """``audit targeting …`` → ``audit-targeting …`` (global options may come first)."""
    for i, a in enumerate(argv):
        if a.startswith("-"):
            continue
        if a == "audit" and i + 1 < len(argv) and argv[i + 1] in ALIASES:
            return argv[:i] + [ALIASES[argv[i + 1]]] + argv[i + 2:]
        break
    return argv


def _read_table(path: str) -> Any:
    import pandas as pd

    low = path.lower()
    if low.endswith((".geojson", ".json", ".gpkg", ".shp", ".geojson.gz", ".json.gz")):
        import geopandas as gpd

        return gpd.read_file("/vsigzip/" + os.path.abspath(path) if low.endswith(".gz") else path)
    if low.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _groups(s: str) -> list[str]:
    out = [g.strip() for g in s.split(",") if g.strip()]
    if not out:
        raise SystemExit("placewise: error: --groups needs at least one column name")
    return out


def add_parsers(sub: Any, formatter: Any, epilog: str) -> None:
    t = sub.add_parser(
        "audit-targeting", help="targeting audit of another system's predictions (also: audit targeting)",
        formatter_class=formatter,
        description="Who lives in the areas a system (PredPol/Geolitica, an in-house tool) targets most, at the median "
                    "and least, against the jurisdiction as a whole (The Markup's method), with a one-page datasheet.",
        epilog="example:\n  placewise audit targeting --areas block_groups.geojson --area-id id \\\n"
               "  --groups white_alone,latino_alone,black_alone,asian_alone --total total_estimate \\\n"
               "  --predictions boxes.csv --x lon --y lat --count pred_count --jurisdiction Plainfield --out out/\n"
               "several jurisdictions (one datasheet each and the summary across them):\n"
               "  placewise audit targeting --config jurisdictions.toml --out out/\n"
               "  (a [defaults] table and one [[jurisdiction]] table per jurisdiction, as for audit-many; keys are the\n"
               "  options below with '_' for '-', e.g. area_id; see docs/oversight.md)\n\n"
               + epilog)
    t.add_argument("--config", default=None, metavar="TOML",
                   help="several jurisdictions: [defaults] and [[jurisdiction]] tables (name, areas, groups, …); writes "
                        "one datasheet per jurisdiction and targeting_summary.{html,md,csv}")
    t.add_argument("--areas", default=None, help="areas with population columns (GeoJSON or any file geopandas reads)")
    t.add_argument("--groups", default=None, help="comma-separated population columns, one per group")
    t.add_argument("--total", default=None, help="column of all residents (default: the sum of the groups)")
    t.add_argument("--area-id", default=None, help="area id column")
    t.add_argument("--names", default=None, help="area name column (shown on the map)")
    t.add_argument("--predictions", default=None,
                   help="boxes (CSV with --x/--y, or GeoJSON points/polygons), or counts per area (CSV with the "
                        "--area-id and --count columns); omitted: --count is a column of --areas")
    t.add_argument("--count", default=None, help="count column (default: one per box)")
    t.add_argument("--x", default=None, help="x / longitude column of --predictions")
    t.add_argument("--y", default=None, help="y / latitude column of --predictions")
    t.add_argument("--crs", default="EPSG:4326", help="CRS of --x/--y (default EPSG:4326)")
    t.add_argument("--margins", default=None, help='JSON: population column → margin-of-error column')
    t.add_argument("--crime", default=None, help="recorded crime points (CSV with --crime-x/--crime-y, or GeoJSON)")
    t.add_argument("--crime-x", default="lon")
    t.add_argument("--crime-y", default="lat")
    t.add_argument("--jurisdiction", default="jurisdiction")
    t.add_argument("--period", default=None, help="the window the predictions cover, in words")
    t.add_argument("--least", default="all_minimum", choices=["all_minimum", "markup"])
    t.add_argument("--permutations", type=int, default=999)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--deployment", default=None, metavar="PATH",
                   help="deployment record TOML: writes crosswalk.html/.md beside each datasheet, the instruments' items "
                        "answered from it (in --config, a jurisdiction's own `deployment` key takes precedence)")
    t.add_argument("--out", required=True, help="output folder")
    t.set_defaults(func=cmd_targeting)

    d = sub.add_parser(
        "audit-dosage", help="exposure, compliance and need audits of actual patrols (also: audit dosage)",
        formatter_class=formatter,
        description="Ingest patrol records (location, start/end or minutes) or GPS pings with row accounting, turn them "
                    "into minutes and visits per cell, audit exposure by group on actual dosage, compliance with a "
                    "recommendation, and concentration against need.",
        epilog="example:\n  placewise audit dosage --patrols dosage.csv --x Longitude --y Latitude --start Started \\\n"
               "  --end Ended --minutes 'Time Spent' --unit 'Unit ID' --tz America/New_York --time-format '%%m/%%d/%%Y %%H:%%M' \\\n"
               "  --areas block_groups.geojson --area-id id --groups white_alone,black_alone \\\n"
               "  --recommended boxes.csv --rec-x lon --rec-y lat --rec-count pred_count --out out/\n\n" + epilog)
    d.add_argument("--patrols", required=True, help="patrol records (CSV) or GPS pings (with --pings)")
    d.add_argument("--x", required=True)
    d.add_argument("--y", required=True)
    d.add_argument("--start", default=None, help="start time column (records) ")
    d.add_argument("--end", default=None)
    d.add_argument("--minutes", default=None)
    d.add_argument("--unit", default=None)
    d.add_argument("--pings", action="store_true", help="the file holds GPS/AVL pings; --t names the time column")
    d.add_argument("--t", default=None, help="ping time column")
    d.add_argument("--max-gap-minutes", type=float, default=10.0)
    d.add_argument("--crs", default="EPSG:4326")
    d.add_argument("--tz", default=None)
    d.add_argument("--time-format", default=None)
    d.add_argument("--max-minutes", type=float, default=480.0, help="longest plausible patrol record (default 480)")
    d.add_argument("--areas", required=True, help="areas with population columns (GeoJSON)")
    d.add_argument("--groups", required=True)
    d.add_argument("--area-id", default=None)
    d.add_argument("--cell-size", type=float, default=150.0)
    d.add_argument("--recommended", default=None, help="recommended boxes (CSV with --rec-x/--rec-y, or GeoJSON)")
    d.add_argument("--rec-x", default="lon")
    d.add_argument("--rec-y", default="lat")
    d.add_argument("--rec-count", default=None)
    d.add_argument("--rec-crs", default="EPSG:4326")
    d.add_argument("--planned-minutes", type=float, default=None, help="minutes planned per recommended box")
    d.add_argument("--near", type=float, default=0.0, help="a patrol within this many metres of a box counts as a visit")
    d.add_argument("--need", default=None, help="incident points (CSV with --need-x/--need-y) for concentration against need")
    d.add_argument("--need-x", default="lon")
    d.add_argument("--need-y", default="lat")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--deployment", default=None, metavar="PATH",
                   help="deployment record TOML: the report's crosswalk answers the instruments' items from it")
    d.add_argument("--out", required=True, help="output folder")
    d.set_defaults(func=cmd_dosage)


#: Keys of a jurisdiction in ``audit targeting --config`` (the single-jurisdiction options).
TARGETING_KEYS = ("areas", "groups", "total", "area_id", "names", "predictions", "count", "x", "y", "crs", "margins",
                  "crime", "crime_x", "crime_y", "period", "least", "permutations", "seed", "deployment")
_TARGETING_PATHS = ("areas", "predictions", "crime", "deployment")


def _deployment_record(path: str | None) -> Any:
    """The deployment record at ``path`` (read before any work), or None."""
    if not path:
        return None
    from .report.crosswalk import DeploymentRecord

    return DeploymentRecord.from_toml(path)


def _write_crosswalk(record: Any, folder: str, present: dict[str, bool]) -> None:
    """crosswalk.html / crosswalk.md beside a datasheet: the instruments' items answered from the record."""
    import html as _html

    from .report._dosage_page import _CSS, _html_table, _md, _md_table
    from .report.crosswalk import crosswalk_page_parts

    paras, head, rows = crosswalk_page_parts(record, present)
    title = "What oversight instruments ask, and where this audit answers"
    h = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title><style>{_CSS}</style></head>"
         f"<body><h1>{title}</h1>" + "".join(f"<p>{_html.escape(p)}</p>" for p in paras) + _html_table(head, rows)
         + "</body></html>")
    m = [f"# {title}", ""] + [x for p in paras for x in (_md(p), "")] + [_md_table(head, rows), ""]
    with open(os.path.join(folder, "crosswalk.html"), "w", encoding="utf-8") as f:
        f.write(h)
    with open(os.path.join(folder, "crosswalk.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(m))
_TARGETING_DEFAULTS: dict[str, Any] = {"crs": "EPSG:4326", "crime_x": "lon", "crime_y": "lat", "least": "all_minimum",
                                       "permutations": 999, "seed": 0}


def _targeting_one(name: str, o: dict[str, Any]) -> Any:
    """One jurisdiction's targeting audit from its settings (CLI options or a config table)."""
    import placewise as pw
    from .exceptions import param_error

    for key in ("areas", "groups"):
        if not o.get(key):
            raise param_error(f"{name}: {key}", "is required (a file of areas with population columns, and the "
                                                "group columns)")
    groups = _groups(o["groups"]) if isinstance(o["groups"], str) else list(o["groups"])
    areas = _read_table(o["areas"])
    preds = _read_table(o["predictions"]) if o.get("predictions") else None
    recorded = None
    if o.get("crime"):
        crime = _read_table(o["crime"])
        if not hasattr(crime, "geometry"):
            import geopandas as gpd

            crime = crime.dropna(subset=[o["crime_x"], o["crime_y"]])
            crime = gpd.GeoDataFrame(crime, geometry=gpd.points_from_xy(crime[o["crime_x"]], crime[o["crime_y"]]),
                                     crs="EPSG:4326")
        recorded = {"recorded crime": crime}
    margins = o.get("margins")
    if isinstance(margins, str):
        margins = json.loads(margins)
    return pw.audit.targeting(preds, areas, groups=groups, total=o.get("total"), area_id=o.get("area_id"),
                              names=o.get("names"), count=o.get("count"), x=o.get("x"), y=o.get("y"), crs=o["crs"],
                              margins=margins, recorded=recorded, jurisdiction=name, period=o.get("period"),
                              least=o["least"], permutations=int(o["permutations"]), seed=int(o["seed"]))


def _write_targeting(a: Any, folder: str, deployment: Any = None) -> str:
    os.makedirs(folder, exist_ok=True)
    if deployment is not None:
        _write_crosswalk(deployment, folder, {"disparity": True})
    a.datasheet(os.path.join(folder, "targeting_datasheet.html"))
    a.datasheet(os.path.join(folder, "targeting_datasheet.md"), format="markdown")
    with open(os.path.join(folder, "targeting.json"), "w", encoding="utf-8") as f:
        json.dump(a.to_dict(), f, indent=2)
    return os.path.join(folder, "targeting_datasheet.html")


def read_targeting_config(path: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, settings) of every jurisdiction of a targeting config; unknown keys raise, naming
    the table and key; relative paths are read from the config's folder."""
    from ._config import read_tables, resolve
    from .exceptions import param_error

    defaults, entries, base = read_tables(path)
    bad = sorted(set(defaults) - set(TARGETING_KEYS))
    if bad:
        raise param_error(f"config: defaults.{bad[0]}", f"unknown setting; known: {', '.join(TARGETING_KEYS)}")
    out = []
    for entry in entries:
        name = entry.pop("name")
        extra = sorted(set(entry) - set(TARGETING_KEYS))
        if extra:
            raise param_error(f"config: {name}.{extra[0]}", f"unknown setting; known: {', '.join(TARGETING_KEYS)}")
        o = {**_TARGETING_DEFAULTS, **defaults, **entry}
        for k in _TARGETING_PATHS:
            if o.get(k):
                o[k] = resolve(base, o[k])
        out.append((str(name), o))
    return out


def cmd_targeting(args: argparse.Namespace) -> int:
    import placewise as pw

    if args.config:
        given = [f"--{k.replace('_', '-')}" for k in ("areas", "groups", "predictions") if getattr(args, k)]
        if given:
            raise SystemExit(f"placewise: error: --config lists the jurisdictions; {', '.join(given)} belong in it")
        jurisdictions = read_targeting_config(args.config)
        if args.deployment:
            for _, o in jurisdictions:
                o.setdefault("deployment", os.path.abspath(args.deployment))
        records = {name: _deployment_record(o.get("deployment")) for name, o in jurisdictions}
        audits, links = [], {}
        for i, (name, o) in enumerate(jurisdictions):
            a = _targeting_one(name, o)
            folder = f"{i + 1:02d}_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
            _write_targeting(a, os.path.join(args.out, folder), records[name])
            links[name] = f"{folder}/targeting_datasheet.html"
            audits.append(a)
            if not args.quiet:
                print(f"{name}: {a.accounting.summary()}")
        from .audit._datasheet import summary_html, summary_markdown

        table = pw.audit.targeting_summary(audits)
        table.to_csv(os.path.join(args.out, "targeting_summary.csv"), index=False)
        with open(os.path.join(args.out, "targeting_summary.html"), "w", encoding="utf-8") as f:
            f.write(summary_html(table, links))
        md_links = {k: v.replace(".html", ".md") for k, v in links.items()}
        with open(os.path.join(args.out, "targeting_summary.md"), "w", encoding="utf-8") as f:
            f.write(summary_markdown(table, md_links))
        if not args.quiet:
            print(f"wrote {len(audits)} datasheets and {os.path.join(args.out, 'targeting_summary.html')}")
        return 0
    if not (args.areas and args.groups):
        raise SystemExit("placewise: error: give --areas and --groups (one jurisdiction) or --config (several)")
    o = {k: getattr(args, k) for k in TARGETING_KEYS}
    record = _deployment_record(args.deployment)
    a = _targeting_one(args.jurisdiction, o)
    path = _write_targeting(a, args.out, record)
    if not args.quiet:
        print(a.accounting.summary())
        print(f"wrote {path}")
    return 0


def cmd_dosage(args: argparse.Namespace) -> int:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    import placewise as pw

    from .report._dosage_page import dosage_page

    record = _deployment_record(args.deployment)

    areas = _read_table(args.areas)
    groups = _groups(args.groups)
    df = pd.read_csv(args.patrols, skip_blank_lines=False)
    if args.pings:
        if args.t is None or args.unit is None:
            raise SystemExit("placewise: error: --pings needs --t and --unit")
    region = pw.Region.from_geodataframe(areas)
    grid = pw.Grid(region, cell_size=args.cell_size)
    if args.pings:
        patrols = pw.Patrols.from_pings(df, x=args.x, y=args.y, t=args.t, unit=args.unit, grid=grid, crs=args.crs,
                                        tz=args.tz, max_gap_minutes=args.max_gap_minutes,
                                        source=os.path.basename(args.patrols))
    else:
        if args.start is None:
            raise SystemExit("placewise: error: patrol records need --start (or give --pings)")
        patrols = pw.Patrols.from_frame(df, x=args.x, y=args.y, start=args.start, end=args.end, minutes=args.minutes,
                                        unit=args.unit, crs=args.crs, target_crs=grid.crs, tz=args.tz,
                                        time_format=args.time_format, max_minutes=args.max_minutes,
                                        source=os.path.basename(args.patrols))
    pop = pw.Population.from_geodataframe(areas, groups=groups, grid=grid, area_id=args.area_id)
    dose = patrols.dose(grid, "minutes")
    exposure = pw.audit.disparity(dose, pop, bootstrap=999, seed=args.seed)
    comp = None
    if args.recommended:
        rec = _read_table(args.recommended)
        comp = pw.audit.compliance(patrols, rec, grid, x=args.rec_x, y=args.rec_y, crs=args.rec_crs,
                                   count=args.rec_count, areas=areas, area_id=args.area_id, population=pop,
                                   planned_minutes=args.planned_minutes, near=args.near)
    need = None
    by_area = patrols.dose_by_area(areas, area_id=args.area_id)
    inside = by_area[by_area["area"].notna()].set_index("area")
    if args.need:
        inc = _read_table(args.need)
        if not hasattr(inc, "geometry"):
            inc = inc.dropna(subset=[args.need_x, args.need_y])
            inc = gpd.GeoDataFrame(inc, geometry=gpd.points_from_xy(inc[args.need_x], inc[args.need_y]), crs="EPSG:4326")
        from .audit._targeting import _assign_points

        pos, _ = _assign_points(inc, areas.to_crs(grid.crs).reset_index(drop=True))
        ids = list(areas[args.area_id]) if args.area_id else list(range(len(areas)))
        need_s = pd.Series(np.bincount(pos[pos >= 0], minlength=len(ids)).astype(float), index=ids)
        total_pop = areas[groups].sum(axis=1) if not args.area_id else areas.set_index(args.area_id)[groups].sum(axis=1)
        need = pw.audit.concentration_vs_need(inside["minutes"], need_s, quanta=int(patrols.visit.sum()),
                                              population=total_pop, seed=args.seed, patrol_label="patrol minutes",
                                              need_label="recorded incidents", cell_dose=dose[grid.cell_ids])
    os.makedirs(args.out, exist_ok=True)
    html, md, doc = dosage_page(patrols, exposure, comp, need, by_area, deployment=record)
    for name, text in (("dosage_report.html", html), ("dosage_report.md", md)):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(args.out, "dosage.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
    if not args.quiet:
        print(patrols.quality.summary())
        if comp is not None:
            print(comp.statement())
        if need is not None:
            print(need.statement())
        print(f"wrote {os.path.join(args.out, 'dosage_report.html')}")
    return 0


__all__ = ["add_parsers", "rewrite_argv"]

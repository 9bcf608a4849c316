"""The ``placewise`` command line.

Exit codes: 0 success; 1 an error (one clear line on stderr; a traceback only with --debug);
2 a usage error; 3 an audit-policy violation (the blocked plan is still written, named
``*.BLOCKED.*`` with a ``decision`` column, so that it can be reviewed but not mistaken).

``demo``, ``allocate`` and ``audit`` apply the audit policy shipped with the package unless
``--policy PATH`` names another or ``--no-policy`` is given (the report then says "no policy
applied" first). ``--override-reason`` / ``--override-by`` record an override;
``--skip-audit NAME`` skips one audit explicitly (recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_POLICY = 0, 1, 2, 3

EPILOG = "Exit codes: 0 ok, 1 error, 2 usage error, 3 audit-policy violation. Add --debug for tracebacks."


def _say(args: argparse.Namespace) -> Any:
    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    return say


def _progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


# ------------------------------------------------------------------------------- inputs
def _read_table(path: str, columns: list[str], time_column: str) -> Any:
    import pandas as pd

    p = Path(path)
    suffixes = "".join(p.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return pd.read_parquet(p, columns=columns)
    if suffixes.endswith((".geojson", ".json", ".gpkg", ".shp")):
        import geopandas as gpd

        return gpd.read_file(p)
    return pd.read_csv(p, usecols=columns, dtype={time_column: "string"})


def _incidents(args: argparse.Namespace, region: Any) -> Any:
    from .data import Incidents

    kw: dict[str, Any] = {"tz": args.tz, "category": args.category, "origin": args.origin, "region": region,
                          "source": args.incidents}
    if args.origin_map:
        kw["origin_map"] = json.loads(args.origin_map)
    if args.default_origin:
        kw["default_origin"] = args.default_origin
    cols = [c for c in (args.x, args.y, args.t, args.category, args.origin) if c]
    df = _read_table(args.incidents, cols, args.t)
    if hasattr(df, "geometry") and getattr(df, "crs", None) is not None and args.x not in df.columns:
        return Incidents.from_geodataframe(df, t=args.t, **kw)
    return Incidents.from_frame(df, x=args.x, y=args.y, t=args.t, crs=args.crs, **kw)


def _city(args: argparse.Namespace) -> Any:
    """Region, grid, incidents and (optionally) population from the command-line options."""
    import geopandas as gpd

    from .datasets import CityData
    from .space import Grid, Population, Region

    region_layer = gpd.read_file(args.region)
    region = Region.from_geodataframe(region_layer, name=Path(args.region).name)
    grid = Grid(region, cell_size=args.cell_size)
    inc = _incidents(args, region)
    pop = None
    groups: list[str] = []
    if getattr(args, "population", None):
        groups = [g.strip() for g in (args.groups or "").split(",") if g.strip()]
        if not groups:
            raise SystemExit("placewise: error: --population needs --groups (comma-separated column names)")
        areas = gpd.read_file(args.population)
        pop = Population.from_geodataframe(areas, groups, grid, area_id=args.area_id)
    else:
        areas = region_layer
    return CityData(Path(args.incidents).stem, inc, region, grid, pop, areas, None, groups, "")  # type: ignore[arg-type]


def _policy(args: argparse.Namespace) -> Any:
    """The policy the command applies: --policy PATH, none with --no-policy, else the packaged
    default."""
    from .audit.policy import AuditPolicy

    if getattr(args, "no_policy", False):
        if args.policy:
            raise SystemExit("placewise: error: --policy and --no-policy exclude each other")
        return None
    return AuditPolicy.from_file(args.policy) if args.policy else AuditPolicy.default()


def _gate_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"policy": _policy(args), "override_reason": args.override_reason, "override_by": args.override_by,
            "skip_audits": list(args.skip_audit or [])}


def _policy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("audit policy")
    g.add_argument("--policy", default=None, metavar="PATH",
                   help="audit policy TOML (default: the policy shipped with placewise); a failed check exits with code 3")
    g.add_argument("--no-policy", action="store_true", help="apply no policy (the report says so in its first verdict row)")
    g.add_argument("--override-reason", default=None,
                   help="written justification (10+ visible characters) to proceed despite failed checks; recorded")
    g.add_argument("--override-by", default=None, help="who overrides (default: the system user name); recorded")
    g.add_argument("--skip-audit", action="append", default=None, metavar="NAME",
                   choices=["disparity", "concentration", "data", "feedback"],
                   help="do not check this audit (repeatable); the skip is recorded in the decision")


def _deployment_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deployment", default=None, metavar="PATH",
                   help="deployment record TOML (the agency's answers; template: audits/templates/deployment_record.toml): "
                        "the report's crosswalk answers its items instead of 'not provided'")


def _deployment(args: argparse.Namespace) -> Any:
    """The deployment record named by --deployment, read before any work (a bad key fails fast)."""
    if getattr(args, "deployment", None) is None:
        return None
    from .report.crosswalk import DeploymentRecord

    return DeploymentRecord.from_toml(args.deployment)


def _blocked_path(path: str) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}.BLOCKED{p.suffix}")


# ------------------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    """The whole chain on the bundled Chicago sample."""
    from . import datasets
    from .pipeline import run_chain

    say = _say(args)
    t0 = time.perf_counter()
    deployment = _deployment(args)
    say("loading the bundled Chicago sample (aggravated assaults 2018–2019, 77 community areas, ACS counts)…")
    city = datasets.load_chicago(cell_size=args.cell_size)
    say(city.incidents.quality.summary())
    res = run_chain(
        city, args.out, at="2019-12-01", backtest_start="2019-06-02", models=("kde", "prospective"), model="auto",
        units=args.units, strategy="fair", seed=args.seed, say=say, progress=_progress(args),
        title="placewise audit report — Chicago aggravated assaults (bundled sample)",
        context={"purpose": "Demonstration on public data: where should 60 patrol units go in December 2019, and "
                            "who would bear that patrol? Not an operational deployment.",
                 "operator": "placewise demo (no agency)"},
        deployment=deployment, **_gate_options(args),
    )
    say(f"wrote {res.files['report_html']} (and .json, .md), the allocation as GeoJSON/CSV, and {res.files['run_log']}")
    say(f"decision: {res.plan.decision.status} ({res.plan.decision.policy_name or 'no policy applied'})")
    say("verdicts: " + ", ".join(f"{v['status']}" for v in res.report.document["verdicts"]))
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    from .pipeline import make_model

    city = _city(args)
    m = make_model(args.model, args.cell_size).fit(city.incidents.until(args.until) if args.until else city.incidents, city.grid)
    fitted = {k: v for k, v in vars(m).items() if k.endswith("_") and not k.startswith("_") and k not in ("grid_",)}
    out = {"model": repr(m), "fitted": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v)) for k, v in fitted.items()}}
    text = json.dumps(out, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    city = _city(args)
    s = _chosen_model(args, city).fit(city.incidents.until(args.at), city.grid).predict(at=args.at)
    _write_surface(s, args.out)
    _say(args)(f"wrote {args.out}: {s}")
    return EXIT_OK


def _write_surface(s: Any, out: str) -> None:
    p = Path(out)
    if p.suffix.lower() == ".csv":
        s.to_frame().to_csv(p, index=False)
    else:
        s.to_geojson(p)


def cmd_allocate(args: argparse.Namespace) -> int:
    from .allocate import Budget, allocate
    from .exceptions import PolicyViolation

    city = _city(args)
    s = _chosen_model(args, city).fit(city.incidents.until(args.at), city.grid).predict(at=args.at)
    kw: dict[str, Any] = {"population": city.population, "seed": args.seed, **_gate_options(args)}
    if args.strategy == "fair":
        kw.update(tau=args.tau, reference=args.reference)
    if args.strategy == "randomized":
        kw["epsilon"] = args.epsilon
    try:
        plan = allocate(s, budget=Budget(units=args.units, per_cell_cap=args.per_cell_cap), strategy=args.strategy, **kw)
    except PolicyViolation as e:
        out = _blocked_path(args.out)
        if e.blocked is not None:
            e.blocked.to_csv(out) if out.suffix.lower() == ".csv" else e.blocked.to_geojson(out)
        print(f"placewise: policy violation (the blocked plan is in {out}): " + "; ".join(e.failed_checks), file=sys.stderr)
        print("placewise: pass --override-reason '...' to proceed; the override is recorded", file=sys.stderr)
        return EXIT_POLICY
    p = Path(args.out)
    if p.suffix.lower() == ".csv":
        plan.to_csv(p)
    else:
        plan.to_geojson(p)
    print(json.dumps(plan.summary(), indent=2, default=str))
    return EXIT_OK


def _chosen_model(args: argparse.Namespace, city: Any) -> Any:
    """The model named by --model; "auto" chooses by rolling validation (26 weekly origins
    before --at) and falls back to the naive baseline when no model beats it."""
    from .pipeline import make_model

    if args.model != "auto":
        return make_model(args.model, args.cell_size)
    from .selection import choose_model

    model, sel = choose_model(city.incidents, city.grid, args.at, seed=getattr(args, "seed", 0))
    _say(args)(sel.plain_words())
    return model


def cmd_backtest(args: argparse.Namespace) -> int:
    from .evaluate import backtest
    from .pipeline import make_model

    city = _city(args)
    models = {m: make_model(m, args.cell_size) for m in args.models.split(",") if m}
    res = backtest(models, city.incidents, city.grid, start=args.start, end=args.end, step=args.step,
                   train_window=args.train_window, coverage=[float(c) for c in args.coverage.split(",")],
                   seed=args.seed, progress=_progress(args))
    res.frame.to_csv(args.out, index=False)
    summ = res.summary()
    print(summ[summ["metric"].isin(["pai", "pei_star"])].to_string(index=False))
    _say(args)(f"wrote {args.out}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from .exceptions import PolicyViolation
    from .pipeline import run_chain

    deployment = _deployment(args)
    city = _city(args)
    if city.population is None:
        print("placewise: error: audit needs --population and --groups", file=sys.stderr)
        return EXIT_USAGE
    context = json.loads(Path(args.context).read_text()) if args.context else {}
    try:
        res = run_chain(city, args.out, at=args.at, backtest_start=args.backtest_start, models=tuple(args.models.split(",")),
                        model=args.model, units=args.units, strategy=args.strategy, reference=args.reference, tau=args.tau,
                        seed=args.seed, context=context, say=_say(args), progress=_progress(args), deployment=deployment,
                        **_gate_options(args))
    except PolicyViolation as e:
        print(f"placewise: policy violation (BLOCKED plan and report written to {args.out}): " + "; ".join(e.failed_checks),
              file=sys.stderr)
        return EXIT_POLICY
    _say(args)(f"wrote {res.files['report_html']}")
    return EXIT_OK


def cmd_verify_log(args: argparse.Namespace) -> int:
    from .exceptions import LogVerificationError
    from .runlog import RunLog

    if not Path(args.log).exists():
        print(f"placewise: error: no such file: {args.log}", file=sys.stderr)
        return EXIT_ERROR
    log = RunLog(args.log)
    try:
        v = log.verify(expected_head=args.expected_head, expected_records=args.expected_records)
        if args.public_key:
            v = log.verify_signed(args.public_key)
    except LogVerificationError as e:
        print(f"FAILED: record {e.record}: {e.reason}")
        return EXIT_ERROR
    line = f"OK: {v.records} records, head {v.head}"
    if args.public_key:
        line += f"; {v.checkpoints} signed checkpoint(s), the last covering records 0-{v.signed_records - 1}"
        if v.records > v.signed_records + 1:
            line += f" ({v.records - v.signed_records - 1} later record(s) rest on the hash chain alone)"
    elif args.expected_head or args.expected_records is not None:
        line += " (anchor holds)"
    print(line)
    return EXIT_OK


# ------------------------------------------------------------------------------- parser
def _data_options(p: argparse.ArgumentParser, population: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--incidents", required=True, help="incidents file: CSV, Parquet or GeoJSON")
    g.add_argument("--x", default="longitude", help="x / longitude column (default longitude)")
    g.add_argument("--y", default="latitude", help="y / latitude column (default latitude)")
    g.add_argument("--t", default="date", help="time column (default date)")
    g.add_argument("--crs", default="EPSG:4326", help="CRS of x/y (default EPSG:4326)")
    g.add_argument("--tz", default=None, help="time zone of naive times, e.g. America/Chicago")
    g.add_argument("--category", default=None, help="category column")
    g.add_argument("--origin", default=None, help="origin column (how incidents came to police attention)")
    g.add_argument("--origin-map", default=None, help='JSON mapping of origin values, e.g. \'{"call": "reported"}\'')
    g.add_argument("--default-origin", default=None, choices=["reported", "discovered", "unknown"],
                   help="origin of every row when there is no origin column")
    g.add_argument("--region", required=True, help="study-region polygons (GeoJSON or any file geopandas reads)")
    g.add_argument("--cell-size", type=float, default=150.0, help="cell side in metres (default 150)")
    if population:
        g.add_argument("--population", default=None, help="areas with group counts (GeoJSON)")
        g.add_argument("--groups", default=None, help="comma-separated group columns of --population")
        g.add_argument("--area-id", default=None, help="area name column of --population")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="placewise", description="Place-based hotspots, patrol allocation and audits.",
                                epilog=EPILOG)
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    F = argparse.RawDescriptionHelpFormatter

    d = sub.add_parser("demo", help="the whole chain on the bundled Chicago sample", formatter_class=F,
                       description="Backtest, predict, allocate with a fairness constraint, audit, simulate feedback, log "
                                   "the run and write the HTML audit report — on the bundled Chicago data.",
                       epilog="example:\n  placewise demo --out out/demo\n\n" + EPILOG)
    d.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--cell-size", type=float, default=150.0, help="cell side in metres (default 150)")
    d.add_argument("--units", type=float, default=60, help="patrol units (default 60)")
    d.add_argument("--seed", type=int, default=0)
    _policy_options(d)
    _deployment_option(d)
    d.set_defaults(func=cmd_demo)

    ex = ("  --incidents assaults.csv --x longitude --y latitude --t date --tz America/Chicago \\\n"
          "  --region areas.geojson --cell-size 150")
    f = sub.add_parser("fit", help="fit a model and print its fitted parameters", formatter_class=F,
                       epilog=f"example:\n  placewise fit --model sepp {ex}\n\n" + EPILOG)
    _data_options(f)
    f.add_argument("--model", default="kde", help="naive, kde, prospective, retrospective or sepp (default kde)")
    f.add_argument("--until", default=None, help="use incidents before this time")
    f.add_argument("--out", default=None, help="also write the JSON here")
    f.set_defaults(func=cmd_fit)

    pr = sub.add_parser("predict", help="fit a model and write its risk surface", formatter_class=F,
                        epilog=f"example:\n  placewise predict --model kde --at 2019-12-01 --out risk.geojson \\\n{ex}\n\n" + EPILOG)
    _data_options(pr)
    pr.add_argument("--model", default="kde", help="a model name, or auto (chosen by rolling validation)")
    pr.add_argument("--at", required=True, help="prediction time; only earlier incidents are used")
    pr.add_argument("--out", required=True, help="GeoJSON or CSV")
    pr.set_defaults(func=cmd_predict)

    a = sub.add_parser("allocate", help="predict and allocate patrol units (with audits and policy)", formatter_class=F,
                       epilog=f"example:\n  placewise allocate --units 40 --strategy fair --policy audits/policy.toml \\\n"
                              f"  --population areas.geojson --groups WHITE,BLACK,HISP,ASIAN,OTHER --at 2019-12-01 \\\n"
                              f"  --out plan.geojson \\\n{ex}\n\n" + EPILOG)
    _data_options(a, population=True)
    a.add_argument("--model", default="auto", help="auto (chosen by rolling validation; the naive baseline unless a model "
                                                    "beats it), naive, kde, prospective, retrospective, sepp, blend or risk_factors")
    a.add_argument("--at", required=True)
    a.add_argument("--units", type=float, required=True)
    a.add_argument("--per-cell-cap", type=float, default=1.0)
    a.add_argument("--strategy", default="top_k", choices=["top_k", "proportional", "randomized", "fair"])
    a.add_argument("--tau", type=float, default=0.8)
    a.add_argument("--reference", default=None)
    a.add_argument("--epsilon", type=float, default=0.1)
    a.add_argument("--seed", type=int, default=0)
    _policy_options(a)
    a.add_argument("--out", required=True, help="GeoJSON or CSV (a blocked plan goes to NAME.BLOCKED.EXT)")
    a.set_defaults(func=cmd_allocate)

    b = sub.add_parser("backtest", help="rolling-origin backtest against the naive baseline", formatter_class=F,
                       epilog=f"example:\n  placewise backtest --models kde,prospective --start 2019-01-01 --end 2019-12-01 \\\n"
                              f"  --out backtest.csv \\\n{ex}\n\n" + EPILOG)
    _data_options(b)
    b.add_argument("--models", default="kde,prospective")
    b.add_argument("--start", required=True)
    b.add_argument("--end", required=True)
    b.add_argument("--step", default="7D")
    b.add_argument("--train-window", default="365D")
    b.add_argument("--coverage", default="0.01,0.05")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--out", required=True, help="CSV of the tidy results")
    b.set_defaults(func=cmd_backtest)

    au = sub.add_parser("audit", help="the whole chain on your data: HTML audit report", formatter_class=F,
                        epilog=f"example:\n  placewise audit --population areas.geojson --groups WHITE,BLACK,HISP \\\n"
                               f"  --at 2019-12-01 --backtest-start 2019-06-01 --policy audits/policy.toml --out report/ \\\n{ex}\n\n" + EPILOG)
    _data_options(au, population=True)
    au.add_argument("--at", required=True, help="allocation time")
    au.add_argument("--backtest-start", required=True, help="first backtest origin")
    au.add_argument("--models", default="kde,prospective")
    au.add_argument("--model", default="auto", help="model used for the allocation (default auto: chosen by rolling validation)")
    au.add_argument("--units", type=float, default=60)
    au.add_argument("--strategy", default="fair", choices=["top_k", "proportional", "randomized", "fair"])
    au.add_argument("--tau", type=float, default=0.8)
    au.add_argument("--reference", default=None)
    _policy_options(au)
    au.add_argument("--context", default=None, help="JSON file with intended-use and impact-assessment answers")
    _deployment_option(au)
    au.add_argument("--seed", type=int, default=0)
    au.add_argument("--out", required=True, help="output folder")
    au.set_defaults(func=cmd_audit)

    from ._audit_many_cli import add_parser as add_audit_many

    add_audit_many(sub, F, EPILOG)

    v = sub.add_parser("verify-log", help="verify a hash-chained run log", formatter_class=F,
                       epilog="example:\n  placewise verify-log out/demo/runs.jsonl\n\nExit code 0 when every record verifies, "
                              "1 otherwise (the first bad record is named).")
    v.add_argument("log")
    v.add_argument("--public-key", action="append", metavar="PATH",
                   help="check every signed checkpoint against this Ed25519 public key (PEM or hex file); repeatable")
    v.add_argument("--expected-head", metavar="HASH", help="anchor: the head hash recorded earlier")
    v.add_argument("--expected-records", type=int, metavar="N", help="anchor: the record count recorded earlier")
    v.set_defaults(func=cmd_verify_log)
    from ._cli_oversight import add_parsers

    add_parsers(sub, F, EPILOG)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    from ._cli_oversight import rewrite_argv

    try:
        args = parser.parse_args(rewrite_argv(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    from .exceptions import PolicyViolation

    def one_line(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if not args.quiet:
            print(f"placewise: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = one_line
            return int(args.func(args))
    except PolicyViolation as e:
        if args.debug:
            raise
        print(f"placewise: policy violation (the plan is BLOCKED): {e}", file=sys.stderr)
        return EXIT_POLICY
    except KeyboardInterrupt:
        print("placewise: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return EXIT_USAGE
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001 - one clear line unless --debug
        if args.debug:
            raise
        print(_error_line(e), file=sys.stderr)
        return EXIT_ERROR


def _error_line(e: BaseException) -> str:
    """One line for an error: its first line; a longer message is written whole to a file the
    line names (``--debug`` shows the traceback instead)."""
    text = str(e).strip() or type(e).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) <= 1:
        return f"placewise: error: {lines[0] if lines else text}"
    import tempfile

    fd, path = tempfile.mkstemp(prefix="placewise-error-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return f"placewise: error: {lines[0]} (full message in {path}; add --debug for a traceback)"


if __name__ == "__main__":
    sys.exit(main())

"""``placewise audit-many CONFIG.toml``: the audit chain on every jurisdiction of a config, on Dask.

Kept apart from :mod:`placewise.cli` so that the command line imports Dask only when this
command runs (``placewise.distributed`` is an optional extra).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXAMPLE = """\
example:
  placewise audit-many jurisdictions.toml --out out/state --workers 2
  placewise audit-many jurisdictions.toml --scheduler tcp://scheduler:8786

CONFIG.toml:
  [defaults]                       # chain settings and data options shared by every jurisdiction
  at = "2019-12-01"
  backtest_start = "2019-10-06"
  units = 40
  strategy = "fair"
  policy = "audits/policy.toml"    # relative paths are read from the config's folder
  cell_size = 250

  [[jurisdiction]]
  name = "Chicago (bundled sample)"
  dataset = "chicago-sample"

  [[jurisdiction]]
  name = "Plainfield, NJ"
  incidents = "plainfield/crime.csv.gz"   # CSV or Parquet (filters = [["agency", "==", "X"]])
  x = "lon"
  y = "lat"
  t = "datetime"
  tz = "America/New_York"
  region = "plainfield/block_groups.geojson.gz"
  population = "plainfield/block_groups.geojson.gz"
  groups = ["white_alone", "black_alone", "latino_alone", "asian_alone"]
  default_origin = "reported"
  at = "2019-01-01"                # any default may be overridden per jurisdiction
  backtest_start = "2018-11-04"

Writes OUT/<jurisdiction>/ (the report, allocation and run log of `placewise audit`) and
OUT/summary.{csv,md,html}. Exit code 1 when a jurisdiction failed (the others still complete and
the failure is named), 3 when one was blocked by the audit policy, else 0."""


def add_parser(sub: Any, formatter: Any, epilog: str) -> None:
    """Registers the subcommand on the ``placewise`` parser."""
    p = sub.add_parser("audit-many", help="the audit chain on many jurisdictions, on Dask (placewise[dask])",
                       formatter_class=formatter, epilog=EXAMPLE + "\n\n" + epilog,
                       description="Runs the chain of `placewise audit` on every jurisdiction listed in CONFIG.toml "
                                   "as Dask tasks and writes one report per jurisdiction plus a summary.")
    p.add_argument("config", metavar="CONFIG.toml", help="jurisdictions and shared settings")
    p.add_argument("--out", default="out/audit-many", help="output folder (default out/audit-many)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: a local cluster on this machine)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="Dask's progress bar on standard output (default: when it is a terminal)")
    p.set_defaults(func=cmd_audit_many)


def cmd_audit_many(args: argparse.Namespace) -> int:
    from .distributed import audit_many, read_config

    if args.scheduler is not None and args.workers is not None:
        print("placewise: error: --workers sizes a local cluster; a --scheduler cluster has its own workers",
              file=sys.stderr)
        return 2
    jurisdictions, chain = read_config(args.config)
    quiet = getattr(args, "quiet", False)
    if not quiet:
        where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        print(f"auditing {len(jurisdictions)} jurisdictions on {where}…", file=sys.stderr)
    progress = args.progress if args.progress is not None else (not quiet and sys.stdout.isatty())
    res = audit_many(jurisdictions, client=args.scheduler, workers=args.workers, out=args.out, progress=progress,
                     **chain)
    s = res.summary
    if not quiet:
        print(s[["jurisdiction", "status", "incidents", "checks_passed", "checks_failed"]].to_string(index=False),
              file=sys.stderr)
    for name, err in res.failures.items():
        print(f"placewise: error: jurisdiction {name!r} failed: {err}", file=sys.stderr)
    if not quiet:
        print(f"wrote {args.out}/summary.html (and .csv, .md) and one report folder per jurisdiction", file=sys.stderr)
    if res.failures:
        return 1
    if (s["status"] == "blocked").any():
        return 3
    return 0

"""The `placewise` command line.

Exit codes: 0 success; 1 an error (one clear line on stderr, a traceback only with --debug);
2 a usage error; 3 an audit-policy violation.
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_POLICY = 0, 1, 2, 3


def _say(args: argparse.Namespace, msg: str) -> None:
    if not args.quiet:
        print(msg, file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    """The chain on the bundled Chicago sample; writes an HTML page into --out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import datasets

    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _say(args, "loading the bundled Chicago sample (aggravated assaults 2018-2019)…")
    city = datasets.load_chicago(cell_size=args.cell_size)
    inc, grid = city.incidents, city.grid
    _say(args, city.incidents.quality.summary())
    train = inc.between("2019-01-01", "2020-01-01")
    counts = grid.counts(train)
    mask = grid.mask()
    shown = np.where(mask, counts, np.nan)
    fig, ax = plt.subplots(figsize=(6, 7))
    x0, y0, x1, y1 = grid.extent
    im = ax.imshow(shown, origin="lower", extent=(x0, x1, y0, y1), cmap="magma_r")
    fig.colorbar(im, ax=ax, label=f"incidents per {grid.cell_size:g} m cell, 2019")
    ax.set_title("Aggravated assaults per cell, Chicago 2019")
    ax.set_axis_off()
    png = out / "risk_map.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    plt.close(fig)
    page = out / "index.html"
    page.write_text(
        "<!doctype html><meta charset='utf-8'><title>placewise demo</title>"
        "<h1>placewise demo: Chicago aggravated assaults</h1>"
        f"<h2>Data quality</h2>{city.incidents.quality._repr_html_()}"
        f"<h2>Counts per cell, 2019</h2><img src='risk_map.png' alt='risk map'>"
        f"<p>{html.escape(repr(grid))}</p><h2>Sources</h2><pre>{html.escape(city.attribution)}</pre>",
        encoding="utf-8",
    )
    _say(args, f"wrote {page} and {png} in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="placewise",
        description="Place-based hotspots, patrol allocation and audits.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage error, 3 audit-policy violation.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser(
        "demo",
        help="run the chain on the bundled Chicago sample",
        description="Run the chain on the bundled Chicago sample and write an HTML page.",
        epilog="example: placewise demo --out out/demo",
    )
    d.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    d.add_argument("--cell-size", type=float, default=150.0, help="cell side in metres (default 150)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else EXIT_USAGE
    from .exceptions import PolicyViolation

    try:
        rc: Any = args.func(args)
        return int(rc)
    except PolicyViolation as e:
        if args.debug:
            raise
        print(f"placewise: policy violation: {e}", file=sys.stderr)
        return EXIT_POLICY
    except KeyboardInterrupt:
        print("placewise: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # noqa: BLE001 - one clear line unless --debug
        if args.debug:
            raise
        print(f"placewise: error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""Regression tests for hostile and careless inputs: every bad input is a placewise error naming
the parameter, dates out of range are counted as such, outputs cannot be mistaken or abused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import placewise as pw
from placewise import cli


def _inc(n: int = 60, crs: str = "EPSG:32616") -> pw.Incidents:
    df = pd.DataFrame({"x": 440000 + np.arange(n) * 30.0, "y": 4630000 + np.arange(n) * 30.0,
                       "t": pd.date_range("2020-01-01", periods=n, freq="12h").astype(str)})
    return pw.Incidents.from_frame(df, x="x", y="y", t="t", crs=crs, tz="UTC")


@pytest.fixture(scope="module")
def grid() -> pw.Grid:
    return pw.Grid(pw.Region.from_bounds(440000, 4630000, 442000, 4632000, crs="EPSG:32616"), cell_size=200)


# ----------------------------------------------------------------------------- errors name the parameter
def test_bad_scalars_are_placewise_errors_naming_the_parameter(grid):
    region = grid.region
    inc = _inc()
    cases = [
        ("cell_size", lambda: pw.Grid(region, cell_size="100m")),
        ("cell_size", lambda: pw.Grid(region, cell_size=True)),
        ("max_cells", lambda: pw.Grid(region, cell_size=100, max_cells=-1)),
        ("max_cells", lambda: pw.Grid(region, cell_size=100, max_cells=2**70)),
        ("k", lambda: pw.KDE(bandwidth="knn", k=-3).fit(inc, grid)),
        ("k", lambda: pw.KDE(bandwidth="knn", k=True).fit(inc, grid)),
        ("step", lambda: pw.evaluate.backtest([pw.Naive()], inc, grid, start="2020-01-10", end="2020-01-20", step=None)),
        ("step", lambda: pw.evaluate.backtest([pw.Naive()], inc, grid, start="2020-01-10", end="2020-01-20", step=True)),
        ("plan", lambda: pw.report.AuditReport(plan="x").to_html()),
        ("incidents", lambda: pw.report.AuditReport(incidents=3).to_markdown()),
        ("title", lambda: pw.report.AuditReport(title=["x"])),
        ("tau", lambda: pw.AuditPolicy(tau=True)),
    ]
    surface = pw.Naive().fit(inc, grid).predict()
    cases.append(("seed", lambda: pw.allocate(surface, budget=3, strategy="randomized", seed=2**64)))
    cases.append(("seed", lambda: pw.allocate(surface, budget=3, strategy="randomized", seed=True)))
    for name, call in cases:
        with pytest.raises(pw.PlacewiseError) as e:
            call()
        assert getattr(e.value, "name", None) == name or f"`{name}`" in str(e.value), (name, e.value)


def test_wrong_data_dir_is_a_placewise_io_error_in_words(tmp_path):
    with pytest.raises(pw.exceptions.PlacewiseIOError) as e:
        pw.datasets.read_chicago(tmp_path / "nope")
    msg = str(e.value)
    assert "does not exist" in msg and "Errno" not in msg and "None" not in msg
    assert isinstance(e.value, OSError)


def test_io_error_message_says_what_and_why(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(pw.exceptions.PlacewiseIOError) as e:
        pw.AuditPolicy.from_file(path)
    msg = str(e.value)
    assert str(path) in msg and "does not exist" in msg, msg
    assert "[Errno" not in msg and "None" not in msg
    assert e.value.filename == str(path) and e.value.errno == 2


def test_cli_errors_are_one_line(tmp_path, capsys):
    import geopandas as gpd
    import shapely

    # every row outside the region: the ingest error carries a multi-line quality summary
    df = pd.DataFrame({"longitude": [0.0, 0.1], "latitude": [0.0, 0.1], "date": ["2020-01-01", "2020-01-02"]})
    src = tmp_path / "inc.csv"
    df.to_csv(src, index=False)
    region = tmp_path / "region.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(-87.7, 41.8, -87.6, 41.9)], crs="EPSG:4326").to_file(region)
    code = cli.main(["fit", "--incidents", str(src), "--tz", "UTC", "--region", str(region)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("placewise: error: "), err
    # a multi-line message becomes its first line plus the file holding all of it
    line = cli._error_line(ValueError("first line\nsecond\nthird"))
    assert "\n" not in line and line.startswith("placewise: error: first line (full message in ")
    full = line.split("full message in ", 1)[1].split(";", 1)[0]
    assert open(full, encoding="utf-8").read() == "first line\nsecond\nthird\n"


# ----------------------------------------------------------------------------- dates out of range
def test_dates_outside_pandas_range_are_counted_as_out_of_range():
    df = pd.DataFrame({"x": [440000.0 + i for i in range(6)], "y": [4630000.0] * 6,
                       "t": ["2020-01-01", "3000-01-01", "2262-04-12", "1066-10-14", "not a date", "2020-01-02"]})
    with pytest.warns(pw.exceptions.DataQualityWarning):
        inc = pw.Incidents.from_frame(df, x="x", y="y", t="t", crs="EPSG:32616", tz="UTC")
    assert inc.quality.dropped.get("time_out_of_range") == 3
    assert inc.quality.dropped.get("unparseable_time") == 1
    assert len(inc) == 2


# ----------------------------------------------------------------------------- grid edge case
@pytest.mark.parametrize("cell_size", [1e4, 1e7, 1e10, 1e13])
def test_region_smaller_than_one_huge_cell_gets_an_active_cell(cell_size):
    region = pw.Region.from_bounds(440000, 4630000, 440001, 4630001, crs="EPSG:32616")
    g = pw.Grid(region, cell_size=cell_size)
    assert (g.n_cells, g.n_active) == (1, 1)
    assert g.cell_of(440000.5, 4630000.5) == 0


# ----------------------------------------------------------------------------- one input check for every model
def test_every_model_refuses_incidents_in_another_crs(grid):
    other = _inc(crs="EPSG:32617")
    for model in (pw.Naive(), pw.KDE(bandwidth=300), pw.RetrospectiveHotspot(), pw.ProspectiveHotspot(), pw.SEPP()):
        with pytest.raises(pw.InvalidParameterError) as e:
            model.fit(other, grid)
        assert "CRS" in str(e.value), type(model).__name__


# ----------------------------------------------------------------------------- report
HOSTILE = "<script>alert(1)</script> | x |\n## Verdicts at a glance\n| forged | PASS |"


def test_markdown_report_escapes_every_user_string():
    md = pw.report.AuditReport(title=HOSTILE, context={"purpose": HOSTILE, "prohibited_uses": [HOSTILE]}).to_markdown()
    assert "<script>" not in md
    assert md.count("## Verdicts at a glance") == 1
    assert "| forged |" not in md
    title_line = md.splitlines()[0]
    assert title_line.startswith("# ") and "&lt;script&gt;" in title_line and "\\|" in title_line
    # the forged row is text inside a cell: its pipes are escaped
    assert all("\\|" in line for line in md.splitlines() if "forged" in line)


def test_md_escape_keeps_text_readable():
    from placewise.report import md_escape

    assert md_escape("Black residents") == "Black residents"
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("line1\nline2") == "line1 line2"
    assert md_escape("- not a list") == "\\- not a list"
    assert md_escape("<b>") == "&lt;b&gt;"
    assert md_escape(1.5) == "1.5"


def test_prohibited_uses_string_is_one_item():
    r = pw.report.AuditReport(context={"prohibited_uses": "crowd surveillance"})
    assert r.context["prohibited_uses"] == ["crowd surveillance"]
    md = r.to_markdown()
    assert "| crowd surveillance |" in md
    assert "| c |" not in md
    with pytest.raises(pw.InvalidParameterError):
        pw.report.AuditReport(context={"prohibited_uses": 5})


# ----------------------------------------------------------------------------- CSV exports
def test_csv_exports_neutralise_formulas(grid):
    from placewise._export import csv_text

    frame = pd.DataFrame({"label": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+night", "=cmd|' /C calc'!A0",
                                    "-x", "\tTab", "\rCR", "plain"], "value": [-1.5, 2, 3, 4, 5, 6, 7, 8]})
    text = csv_text(frame)
    rows = pd.read_csv(__import__("io").StringIO(text), keep_default_na=False)
    assert all(not str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in rows["label"])
    assert rows["label"].tolist()[-1] == "plain"
    assert rows["value"].tolist()[0] == -1.5  # numbers stay numbers
    # the allocation export goes through it
    import inspect

    assert "csv_text(" in inspect.getsource(pw.Allocation.to_csv)
    assert "csv_text(" in inspect.getsource(pw.allocate_shifts.__globals__["Plan"].to_csv)


# ----------------------------------------------------------------------------- CSV ingest fuzz
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELL = st.one_of(st.sampled_from(["", "nan", "inf", "-inf", "1e308", "3000-01-01", "2020-02-30", "0x10", '"', ",",
                                   "=HYPERLINK(1)", "\u200b", "2020-01-01T00:00:00Z", "-0"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_CELL, _CELL, _CELL), max_size=8), header=st.booleans(), junk=st.binary(max_size=20))
def test_csv_ingest_gives_incidents_or_a_placewise_error(tmp_path, rows, header, junk):
    text = ("x,y,t\n" if header else "") + "\n".join(",".join(r) for r in rows)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass") + junk)
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            inc = pw.Incidents.from_csv(path, x="x", y="y", t="t", crs="EPSG:32616", tz="UTC")
        except pw.PlacewiseError:
            return
    q = inc.quality
    assert q.rows_read == q.rows_kept + sum(q.dropped.values())

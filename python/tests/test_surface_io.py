"""Surface exports: GeoJSON, xarray, frames, ranking and plotting agree with the values."""

from __future__ import annotations

import json

import numpy as np
import pytest

import placewise as pw


@pytest.fixture(scope="module")
def surface():  # type: ignore[no-untyped-def]
    grid = pw.Grid(pw.Region.from_bounds(0, 0, 400, 300, crs="EPSG:32616"), cell_size=100)
    values = np.arange(12, dtype=float).reshape(3, 4)
    values[1, 1] = values[1, 2] = 11.0  # a tie with the top cell
    return pw.Surface(values, grid, "test", params={"bandwidth": 250}, units="incidents per cell")


def test_geojson_round_trip(surface, tmp_path) -> None:
    path = tmp_path / "s.geojson"
    doc = json.loads(surface.to_geojson(path))
    assert json.loads(path.read_text()) == doc
    assert doc["placewise"]["model"] == "test" and doc["placewise"]["params"] == {"bandwidth": "250"}
    by_id = {f["properties"]["cell_id"]: f["properties"]["value"] for f in doc["features"]}
    assert by_id == {i: surface.values.ravel()[i] for i in range(12)}


def test_xarray_coordinates_are_cell_centres(surface) -> None:
    pytest.importorskip("xarray")
    da = surface.to_xarray()
    assert da.dims == ("y", "x") and da.shape == (3, 4)
    np.testing.assert_allclose(da["x"].to_numpy(), [50, 150, 250, 350])
    np.testing.assert_allclose(da["y"].to_numpy(), [50, 150, 250])
    assert float(da.sel(x=150, y=150)) == 11.0
    assert da.attrs["units"] == "incidents per cell"


def test_ranking_ties_by_cell_id_and_frames(surface) -> None:
    top = surface.top(3)
    assert list(top["cell_id"]) == [5, 6, 11]  # three cells at 11.0: lower ids first
    assert list(top["rank"]) == [1, 2, 3]
    f = surface.to_frame()
    assert len(f) == 12 and (f["value"].to_numpy() == surface.values.ravel()).all()
    with pytest.raises(pw.InvalidParameterError, match="`k`"):
        surface.top(-1)
    with pytest.raises(pw.InvalidParameterError, match="shape"):
        pw.Surface(np.zeros((2, 2)), surface.grid, "bad")


def test_plot_and_html(surface) -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax = surface.plot()
    assert ax.get_title() == "test"
    assert "bandwidth" in surface._repr_html_()

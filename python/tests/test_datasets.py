"""Bundled data: present, small, attributed, and loadable end to end."""

from __future__ import annotations

from importlib import resources

import placewise as pw


def test_bundled_files_are_small_and_attributed() -> None:
    folder = resources.files("placewise.datasets").joinpath("data")
    files = [f for f in folder.iterdir() if f.is_file()]
    total = sum(len(f.read_bytes()) for f in files)
    assert total < 5 * 1024 * 1024
    assert "City of Chicago" in pw.datasets.ATTRIBUTION and "GeoDa" in pw.datasets.ATTRIBUTION


def test_load_chicago(chicago) -> None:
    inc = chicago.incidents
    assert inc.quality.rows_read == 30_761  # every 2018-2019 row of the original file
    assert inc.quality.rows_read == inc.quality.rows_kept + sum(inc.quality.dropped.values())
    assert inc.time_span[0].year == 2018 and inc.time_span[1].year == 2019
    assert len(chicago.areas) == 77 and len(chicago.districts) == 25
    assert chicago.groups == ["WHITE", "BLACK", "HISP", "ASIAN", "OTHER"]
    assert "Chicago" in repr(chicago)


def test_toronto_name_join_key() -> None:
    n = pw.datasets.normalise_name
    assert n("Mimico (includes Humber Bay Shores) (17)") == n("Mimico")
    assert n("L'Amoreaux (117)") == n("LAmoreaux")

"""RunLog: chain, tamper detection (every flipped byte), torn writes, digests."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placewise as pw
from placewise import runlog


def _log(tmp_path, n=3):
    log = pw.RunLog(tmp_path / "runs.jsonl")
    for i in range(n):
        log.append({"seed": i, "params": {"k": 40, "tau": 0.8}, "note": "ünïcode ✓", "x": float("nan")})
    return log


def test_append_verify_records(tmp_path):
    log = _log(tmp_path)
    v = log.verify()
    assert v.records == 3 and len(v.head) == 64
    recs = log.records()
    assert [r["index"] for r in recs] == [0, 1, 2]
    assert recs[1]["x"] is None and recs[0]["library_version"] == pw.__version__
    lines = (tmp_path / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    assert recs[2]["prev"] == json.loads(lines[1])["hash"]
    with pytest.raises(pw.InvalidParameterError, match="`index`"):
        log.append({"index": 7})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
def test_any_flipped_byte_is_detected(tmp_path_factory, pos, mask):
    d = tmp_path_factory.mktemp("flip")
    log = _log(d)
    path = d / "runs.jsonl"
    data = bytearray(path.read_bytes())
    i = int(pos * len(data))
    line = data[:i].count(b"\n")
    data[i] ^= mask
    path.write_bytes(bytes(data))
    with pytest.raises(pw.LogVerificationError) as e:
        log.verify()
    assert e.value.record == line


def test_torn_write_is_reported_and_not_built_upon(tmp_path):
    log = _log(tmp_path, 3)
    path = tmp_path / "runs.jsonl"
    full = path.read_bytes()
    start_of_last = full[:-1].rfind(b"\n") + 1
    path.write_bytes(full[: start_of_last + 40])  # crash 40 bytes into record 2
    with pytest.raises(pw.LogVerificationError) as e:
        log.verify()
    assert e.value.record == 2
    with pytest.raises(pw.LogVerificationError):
        log.append({"seed": 99})
    assert path.read_bytes() == full[: start_of_last + 40]  # nothing chained onto the torn record
    assert log.repair() == 40
    # the torn bytes are kept in the quarantine file, and the repair is itself a record
    quarantined = (tmp_path / "runs.jsonl.quarantine").read_bytes()
    assert quarantined == full[start_of_last : start_of_last + 40] + b"\n"
    repair = log.records()[2]
    assert repair["repair"]["first_bad_record"] == 2 and repair["repair"]["quarantined_bytes"] == 40
    second = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    assert repair["prev"] == second["hash"]  # chained to the last complete record
    stored = log.append({"seed": 99})
    assert stored["index"] == 3
    assert log.verify().records == 4


def test_digests_and_make_record(chicago, tmp_path):
    inc = chicago.incidents
    h = runlog.hash_incidents(inc)
    assert h == runlog.hash_incidents(inc) and len(h) == 64
    assert h != runlog.hash_incidents(inc.until("2019-01-01"))
    hp = runlog.hash_population(chicago.population)
    assert hp != runlog.hash_array(chicago.population.counts, "population")
    assert runlog.hash_params({"a": 1, "b": [1, 2]}) == runlog.hash_params({"b": [1, 2], "a": 1})
    assert runlog.hash_array(np.zeros((2, 3))) != runlog.hash_array(np.zeros((3, 2)))
    dose = np.zeros(chicago.grid.n_cells)
    dose[:3] = 1
    policy = pw.AuditPolicy(max_discovered_share=0.1)
    decision = pw.audit.enforce(policy, {"data": {"discovered_share": 0.5}}, override_reason="test override")
    rec = runlog.make_record(inputs={"incidents": inc, "population": chicago.population},
                             outputs={"dose": dose}, params={"k": 3}, seed=0, override=decision)
    log = pw.RunLog(tmp_path / "r.jsonl")
    stored = log.append(rec)
    assert stored["record"]["inputs"]["incidents"] == h
    assert stored["record"]["override"]["override_reason"] == "test override"
    assert log.verify().head == stored["hash"]

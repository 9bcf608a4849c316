"""RunLog under concurrent writers (threads and processes), anchors, signed checkpoints,
quarantine on repair, and `placewise verify-log --public-key`."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import threading

import pytest

import placewise as pw
from placewise import cli, runlog


def _append_many(path: str, who: str, n: int) -> None:
    log = pw.RunLog(path)
    for k in range(n):
        log.append({"writer": who, "k": k})


def _check_clean(path: str, expected: int) -> None:
    log = pw.RunLog(path)
    recs = log.records()  # verifies the chain
    assert len(recs) == expected
    assert [r["index"] for r in recs] == list(range(expected))  # no duplicate index


@pytest.mark.parametrize("trial", range(3))
def test_four_threads_append_without_corruption(tmp_path, trial):
    path = str(tmp_path / "runs.jsonl")
    threads = [threading.Thread(target=_append_many, args=(path, f"t{i}", 25)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_clean(path, 100)


def test_processes_append_without_corruption(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, f"p{i}", 20)) for i in range(3)]
    for p in procs:
        p.start()
    # and threads of this process at the same time
    t = threading.Thread(target=_append_many, args=(path, "main", 20))
    t.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    t.join()
    _check_clean(path, 80)


def _rewrite(path: str, edit) -> None:
    """A consistent rewrite: edit some records, recompute every hash and prev."""
    import hashlib

    prev = "0" * 64
    out = []
    for i, line in enumerate(open(path, encoding="utf-8").read().splitlines()):
        body = json.loads(line)["record"]
        body["prev"] = prev
        edit(i, body)
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(text.encode()).hexdigest()
        out.append(f'{{"hash":"{prev}","record":{text}}}\n')
    open(path, "w", encoding="utf-8").write("".join(out))


def test_anchor_catches_truncation_and_consistent_rewrite(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    _append_many(path, "a", 5)
    log = pw.RunLog(path)
    anchor = log.verify()
    assert log.verify(expected_head=anchor.head, expected_records=anchor.records).records == 5
    # remove the last two records: the chain alone still verifies
    lines = open(path, encoding="utf-8").read().splitlines(keepends=True)
    open(path, "w", encoding="utf-8").write("".join(lines[:3]))
    assert log.verify().records == 3
    with pytest.raises(pw.LogVerificationError) as e:
        log.verify(expected_head=anchor.head, expected_records=anchor.records)
    assert "removed" in e.value.reason
    # a consistent rewrite of record 1
    open(path, "w", encoding="utf-8").write("".join(lines))
    _rewrite(path, lambda i, b: b.update(k=99) if i == 1 else None)
    assert log.verify().records == 5
    with pytest.raises(pw.LogVerificationError) as e:
        log.verify(expected_head=anchor.head, expected_records=anchor.records)
    assert "rewritten" in e.value.reason
    with pytest.raises(pw.InvalidParameterError):
        log.verify(expected_records=-1)


def test_signed_checkpoints_and_verify_log_cli(tmp_path, capsys):
    key = tmp_path / "key.pem"
    pub = runlog.generate_signing_key(key)  # explicit, on request only
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    with pytest.raises(pw.exceptions.PlacewiseIOError):
        runlog.generate_signing_key(key)  # never overwrites
    path = str(tmp_path / "runs.jsonl")
    log = pw.RunLog(path, signing_key=key, checkpoint_every=3)
    for k in range(7):
        log.append({"k": k})
    recs = log.records()
    assert [i for i, r in enumerate(recs) if "checkpoint" in r] == [3, 7]
    v = log.verify_signed(pub)
    assert (v.records, v.checkpoints, v.signed_records) == (9, 2, 7)
    assert cli.main(["verify-log", path, "--public-key", pub]) == 0
    out = capsys.readouterr().out
    assert "2 signed checkpoint(s)" in out
    # another key does not verify it
    other = runlog.generate_signing_key(tmp_path / "other.pem")
    assert cli.main(["verify-log", path, "--public-key", other]) == 1
    assert "not among the keys given" in capsys.readouterr().out
    # a consistent rewrite verifies as a chain but not against the signatures
    _rewrite(path, lambda i, b: b.update(k=99) if i == 1 else None)
    assert cli.main(["verify-log", path]) == 0
    capsys.readouterr()
    assert cli.main(["verify-log", path, "--public-key", pub]) == 1
    assert "FAILED: record 3" in capsys.readouterr().out
    # on-demand checkpoints take the key as text too
    log2 = pw.RunLog(str(tmp_path / "b.jsonl"))
    log2.append({"k": 1})
    cp = log2.checkpoint(open(key, encoding="ascii").read())
    assert cp["records"] == 1 and len(cp["signature"]) == 128
    with pytest.raises(pw.InvalidParameterError):
        pw.RunLog(path, checkpoint_every=3)  # no key: refused, never generated


def test_repair_quarantines_and_never_deletes(tmp_path):
    path = tmp_path / "runs.jsonl"
    _append_many(str(path), "a", 4)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace('"k":1', '"k":7')
    path.write_text("".join(lines), encoding="utf-8")
    log = pw.RunLog(path)
    with pytest.raises(pw.LogVerificationError):
        log.append({"k": 9})
    moved = log.repair()
    assert moved == len("".join(lines[1:]).encode())
    assert open(log.quarantine_path, encoding="utf-8").read() == "".join(lines[1:])
    recs = log.records()
    assert len(recs) == 2 and recs[1]["repair"]["first_bad_record"] == 1
    assert log.append({"k": 9})["index"] == 2

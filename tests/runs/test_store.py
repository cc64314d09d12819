"""Run directories: write as you go, resume, torn last line, config mismatch."""

import json

import pytest

from labeldist.errors import LabeldistError
from labeldist.records import ExampleRecord
from labeldist.runs.store import RECORDS, RunStore, iter_records, read_manifest
from tests.helpers import make_manifest


def _rec(i):
    return ExampleRecord(id=f"e{i}", text=f"text {i}", methods={"hard": [1e-8, 1 - 1e-8]})


def test_append_then_resume_skips_done(tmp_path):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({"a": 1}))
    s.append(_rec(1))
    s.append(_rec(2))
    s2 = RunStore.open(d, make_manifest({"a": 1}))
    assert set(s2.done) == {"e1", "e2"} and s2.manifest.resumed == 1
    assert [r.id for r in iter_records(d)] == ["e1", "e2"]


def test_torn_last_line_is_truncated_and_recomputed(tmp_path):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({}))
    s.append(_rec(1))
    with open(d / RECORDS, "a") as f:
        f.write('{"id": "e2", "text": "tru')  # the process died mid-write
    s2 = RunStore.open(d, make_manifest({}))
    assert set(s2.done) == {"e1"} and s2.torn_lines == 1
    s2.append(_rec(2))
    lines = (d / RECORDS).read_text().splitlines()
    assert [json.loads(l)["id"] for l in lines] == ["e1", "e2"]


def test_different_config_refuses_to_resume(tmp_path):
    d = tmp_path / "run"
    RunStore.open(d, make_manifest({"shots": 10}))
    with pytest.raises(LabeldistError, match="different config.*shots.*new --out"):
        RunStore.open(d, make_manifest({"shots": 5}))


def test_non_run_directory_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(LabeldistError, match="not a labeldist run"):
        RunStore.open(tmp_path, make_manifest({}))
    with pytest.raises(LabeldistError, match="no manifest.json"):
        read_manifest(tmp_path)


def test_corrupt_middle_line_is_an_error(tmp_path):
    d = tmp_path / "run"
    s = RunStore.open(d, make_manifest({}))
    s.append(_rec(1))
    with open(d / RECORDS, "a") as f:
        f.write("garbage\n")
    s.append(_rec(2))
    with pytest.raises(LabeldistError, match="line 2 is not valid JSON"):
        RunStore.open(d, make_manifest({}))


def test_record_roundtrip():
    r = _rec(3)
    assert ExampleRecord.from_dict(json.loads(json.dumps(r.to_dict()))).to_dict() == r.to_dict()

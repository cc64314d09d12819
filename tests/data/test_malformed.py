"""Generated malformed files (tests/data/malformed.py): one clean error line each, through the API and the CLI."""

from __future__ import annotations

import itertools
import re
import shutil
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeldist.cli.main import main
from labeldist.data import read_annotated_file
from labeldist.errors import LabeldistError
from labeldist.records import Dataset

from .malformed import (
    DEFECTS,
    FORMATS,
    KINDS,
    LABELS,
    bad_flag_cases,
    malformed_cases,
    valid_cases,
)

_folders = itertools.count()
MAX_MESSAGE = 1500  # a message quoting a 200k-character cell would be far longer


def check_message(msg: str, case, path) -> None:
    assert "\n" not in msg and "\r" not in msg, msg
    problem, sep, fix = msg.partition("; ")
    assert sep and fix.strip() and problem.strip(), f"no '; fix' part: {msg}"
    assert str(path) in msg, f"message does not name the file: {msg}"
    assert re.search(case.expect, msg), f"{case.defect}: {msg!r} does not match {case.expect!r}"
    assert len(msg) < MAX_MESSAGE, f"{case.defect}: message of {len(msg)} chars"


def test_generated_valid_files_read_as_generated(tmp_path):
    """The generator's files without a defect are valid and give eq. 1 by hand: the defects are the only cause."""
    seen = Counter()

    @settings(max_examples=60, derandomize=True, deadline=None, database=None)
    @given(case=valid_cases())
    def check(case):
        folder = tmp_path / str(next(_folders))
        folder.mkdir()
        ds = read_annotated_file(case.write(folder), **case.read_kwargs())
        labels = ds.label_set.labels
        got = {ex.id: ex for ex in ds.split("test")}
        assert set(got) == set(case.votes)
        for key, q in case.votes.items():
            want = [q[LABELS.index(l)] for l in labels]
            assert got[key].human.probs == pytest.approx(want, abs=1e-9), (case.fmt, case.kind, key)
        seen[case.fmt, case.kind] += 1

    check()
    assert {f for f, _ in seen} == set(FORMATS) and {k for _, k in seen} == set(KINDS)


def test_generated_malformed_files_raise_one_line_errors(tmp_path):
    """>= 200 distinct malformed files: always a LabeldistError, one line, naming the file, the problem and a fix.

    Nine generated files per defect (a sampled defect would leave some out), all layouts and formats.
    """
    keys, layouts = set(), Counter()

    @settings(max_examples=9, derandomize=True, deadline=None, database=None)
    @given(data=st.data())
    def check(data, name):
        case = data.draw(malformed_cases(defects=(name,)))
        folder = tmp_path / str(next(_folders))
        folder.mkdir()
        path = case.write(folder)
        try:
            read_annotated_file(path, **case.read_kwargs())
        except LabeldistError as e:
            check_message(str(e), case, path)
        else:
            raise AssertionError(f"{case.defect} ({case.fmt}, {case.kind}) was read without an error")
        finally:
            shutil.rmtree(folder)
        keys.add(case.key())
        layouts[case.fmt, case.kind] += 1

    for name in DEFECTS:
        check(name=name)
    assert len(keys) >= 200, len(keys)
    assert {k for _, k in layouts} == set(KINDS) and {f for f, _ in layouts} == set(FORMATS)


def test_skip_invalid_never_crashes_and_counts(tmp_path):
    """Under skip_invalid a bad row is skipped and listed; a bad file still raises one line."""
    outcomes = Counter()

    @settings(max_examples=80, derandomize=True, deadline=None, database=None)
    @given(case=malformed_cases())
    def check(case):
        folder = tmp_path / str(next(_folders))
        folder.mkdir()
        path = case.write(folder)
        try:
            ds = read_annotated_file(path, skip_invalid=True, **case.read_kwargs())
        except LabeldistError as e:
            assert "\n" not in str(e) and str(path) in str(e)
            outcomes["raised"] += 1
        else:
            assert isinstance(ds, Dataset)
            assert ds.skipped and all(str(path) in s and "\n" not in s for s in ds.skipped), case.defect
            assert f"Skipped {len(ds.skipped)} invalid row(s)" in ds.description
            outcomes["skipped"] += 1

    check()
    assert outcomes["raised"] and outcomes["skipped"]


def run_cli(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip(), captured.out


def test_cli_rejects_generated_malformed_files_before_the_model(tmp_path, capsys):
    """>= 50 cases (two per defect) through `labeldist run`: exit 2, one `labeldist: error:` line, no run directory.

    Data are read and validated before the model loads, so a missing model cannot mask a
    reader bug: the message must still be the reader's (it names the file and the defect).
    """
    n = Counter()

    @settings(max_examples=2, derandomize=True, deadline=None, database=None)
    @given(data=st.data())
    def check(data, name):
        case = data.draw(malformed_cases(defects=(name,)))
        folder = tmp_path / str(next(_folders))
        folder.mkdir()
        path, out = case.write(folder), folder / "run"
        code, err, _ = run_cli(capsys, ["run", "--data", str(path), "--out", str(out), "--model", "smollm2-135m",
                                        "--shots", "0", *case.cli_args()])
        assert code == 2, (case.defect, err)
        assert err.count("\n") == 0 and err.startswith("labeldist: error: "), err
        check_message(err[len("labeldist: error: "):], case, path)
        assert not out.exists() and not (tmp_path / "runs").exists()
        n[case.defect] += 1

    for name in DEFECTS:
        check(name=name)
    assert sum(n.values()) >= 50 and set(n) == set(DEFECTS)


def test_cli_rejects_bad_layout_flags(tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text("id,text,annotator,labels\n1,hi,a,joy\n1,hi,b,anger\n", encoding="utf-8")
    seen = set()

    @settings(max_examples=40, derandomize=True, deadline=None, database=None)
    @given(case=bad_flag_cases())
    def check(case):
        args, expect = case
        src = ["--dataset", "mfrc"] if "<dataset>" in args else ["--data", str(good)]
        out = tmp_path / "run"
        code, err, _ = run_cli(capsys, ["run", *src, "--out", str(out), "--shots", "0",
                                        *[a for a in args if a != "<dataset>"]])
        assert code == 2 and err.count("\n") == 0 and err.startswith("labeldist: error: "), err
        assert re.search(expect, err), (args, err)
        assert "; " in err and not out.exists()
        seen.add(tuple(args))

    check()
    assert len(seen) >= 15

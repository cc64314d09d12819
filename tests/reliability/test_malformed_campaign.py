"""Generated malformed inputs through the CLI and the API (tests/reliability/malformed_inputs.py), reduced.

The full campaign (200+ distinct cases) runs in bench/reliability.py; here 60 distinct cases,
20 of each source, must all hold: exit 2 / LabeldistError, one ``problem; fix`` line naming
the problem, no traceback, no run directory left behind.
"""

from __future__ import annotations

import pytest

from .malformed_inputs import SOURCES, campaign, check_api, check_cli


def test_reduced_campaign_every_case_holds(tiny_cli, tiny_backend, tmp_path):
    res = campaign(tiny_cli, tiny_backend, tmp_path / "campaign", n_file=20, n_flag=20, n_api=20)
    assert {s: res.tried[s] for s in SOURCES} == {"file": 20, "flag": 20, "api": 20}
    assert not res.fell_short, "\n".join(f"{o.source}: {o.case}: {o.why}" for o in res.fell_short)


def _main_that(behaviour, out):
    def main(argv):
        import sys

        if behaviour == "crash":
            raise ValueError("boom")
        if behaviour == "leave_dir":
            out.mkdir()
            print("labeldist: error: bad thing; fix it", file=sys.stderr)
            return 2
        if behaviour == "two_lines":
            print("labeldist: error: bad thing; fix it\nmore", file=sys.stderr)
            return 2
        if behaviour == "no_fix":
            print("labeldist: error: bad thing", file=sys.stderr)
            return 2
        if behaviour == "warning_then_error":
            print("labeldist: warning: heads up\nlabeldist: error: bad thing; fix it", file=sys.stderr)
            return 2
        return 0

    return main


@pytest.mark.parametrize("behaviour, why", [
    ("crash", "traceback"), ("leave_dir", "left a run directory"), ("two_lines", "not one error line"),
    ("no_fix", "no 'problem; fix' form"), ("success", "exit code 0"), ("warning_then_error", ""),
])
def test_the_checker_catches_what_falls_short(tmp_path, behaviour, why):
    out = tmp_path / "run"
    got = check_cli(_main_that(behaviour, out), ["run"], r"bad thing", out, tmp_path)
    assert (why in got) if why else got == "", got


def test_the_api_checker_catches_other_exceptions(tmp_path):
    assert "raised TypeError" in check_api(lambda: int([]), r".", tmp_path / "x")
    assert "succeeded" in check_api(lambda: None, r".", tmp_path / "x")

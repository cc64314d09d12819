"""Crash at any moment, reduced: 5 SIGKILLs of a real SmolLM2 run (tests/reliability/kill_campaign.py).

12 items, SmolLM2-135M fp32, generation + unary + binary, --batch-size 3. The final records
must equal an uninterrupted run's exactly: batches are cut from all items, so a resumed item
meets the same batch-mates as in the uninterrupted run (labeldist.runs.runner.run_examples).
The full 20-kill campaign is bench/reliability.py.
"""

from __future__ import annotations

import pytest

from .kill_campaign import KILL_TEXTS, kill_argv, kill_campaign, kill_data, run_reference

pytestmark = pytest.mark.slow


def test_five_kills_nothing_lost_nothing_invented(tmp_path):
    data = kill_data(tmp_path)
    ref = tmp_path / "reference"
    timing = run_reference(kill_argv(data, ref), ref, batch_size=3)
    res = kill_campaign(lambda out: kill_argv(data, out), ref, tmp_path, kills=5, seed=17, timing=timing,
                        n_items=len(KILL_TEXTS), batch_size=3)
    assert res.n_kills == 5, res.kills
    assert all(k.directory in ("absent", "empty", "run") for k in res.kills), res.kills
    assert any(k.moment == "mid-run" for k in res.kills) and any(k.injected for k in res.kills), res.kills
    assert res.final_exit == 0, res.final_error
    c = res.comparison
    assert c.lines == len(KILL_TEXTS) and not c.duplicates and not c.missing and not c.extra and c.torn_tail == 0, c
    assert not c.generation_mismatch and not c.method_mismatch, c
    assert c.worst_diff == 0.0, c  # the same numbers, not just close ones
    assert res.survived == 5

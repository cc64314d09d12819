"""End to end through the CLI with the real SmolLM2-135M (fp32): run, records, resume, reproducibility."""

import json

import numpy as np
import pytest

from labeldist.cli.main import main
from labeldist.runs.store import iter_records, read_manifest

pytestmark = pytest.mark.slow

ROWS = [
    ("t1", "I won the lottery, amazing!", [["joy"], ["joy", "surprise"], ["surprise"]], "test"),
    ("t2", "This is outrageous, I'm so mad.", [["anger"], ["anger"], []], "test"),
    ("t3", "The bus is late again.", [["anger"], [], []], "test"),
    ("t4", "Wow, I did not see that coming at all.", [["surprise"], ["surprise"], ["joy", "surprise"]], "test"),
    ("r1", "What a beautiful morning.", [["joy"], ["joy"]], "train"),
    ("r2", "You scared me half to death!", [["surprise", "anger"], ["surprise"]], "train"),
    ("r3", "I can't believe you did that to me.", [["anger"], ["anger", "surprise"]], "train"),
    ("r4", "Best birthday ever, thank you all!", [["joy", "surprise"], ["joy", "surprise"]], "train"),
]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("data") / "emo.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t, "annotations": a, "split": s}) + "\n" for i, t, a, s in ROWS))
    return p


def _argv(data, out, *extra):
    return ["run", "--data", str(data), "--labels", "joy,anger,surprise", "--model", "smollm2-135m",
            "--dtype", "fp32", "--shots", "3", "--out", str(out), "--quiet", "--batch-size", "3", *extra]


@pytest.fixture(scope="module")
def run_dir(data_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(_argv(data_file, out, "--methods", "generation,unary,binary")) == 0
    return out


def test_records_hold_everything_needed(run_dir):
    recs = list(iter_records(run_dir))
    assert sorted(r.id for r in recs) == ["t1", "t2", "t3", "t4"]  # written shortest text first
    man = read_manifest(run_dir)
    assert man.model.sha256.startswith("b179c952") and man.model.dtype == "fp32"
    assert man.environment["versions"]["torch"].startswith("2.13.0")
    assert man.config["run"]["prompt"]["seed"] == 0 and len(man.prompt.demos) == 3
    assert man.methods == ["first_step", "compare_to_none", "hard", "max_over_generations", "conditional", "joint",
                           "unary", "binary"]
    assert man.train_base_rates is not None and man.complete is True
    for r in recs:
        # t1: annotators [joy], [joy, surprise], [surprise] -> joy 2/3, anger 0, surprise 2/3
        if r.id == "t1":
            np.testing.assert_allclose(r.human.probs, [2 / 3, 0.0, 2 / 3])
            assert r.human.n_annotators == 3
        for m in man.methods:
            p = np.asarray(r.methods[m])
            assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
        assert r.generation.ids and r.generation.text
        for s in r.steps:  # the step's token really is a variant of the label it names
            assert r.generation.ids[s.position] == s.token_id
            assert s.scores.shape == (4,)
        assert r.cost["unary"].prompts == 4 and r.cost["binary"].prompts == 12  # 6 pairs, both orders (default)


def test_estimators_recompute_offline_from_records(run_dir):
    from labeldist.methods import apply_methods, selected_methods
    from labeldist.records import ExampleRecord
    from labeldist.runs.store import run_label_set

    ls = run_label_set(run_dir)
    for r in iter_records(run_dir):
        fresh = ExampleRecord.from_dict(r.to_dict())
        fresh.methods.clear()
        apply_methods(fresh, selected_methods(["generation", "unary", "binary"], ls), ls)
        for k, v in fresh.methods.items():
            np.testing.assert_allclose(v, r.methods[k], rtol=1e-12)


def test_resume_after_crash_recomputes_only_missing(run_dir, data_file, tmp_path):
    import shutil

    out = tmp_path / "crashed"
    shutil.copytree(run_dir, out)
    lines = (out / "records.jsonl").read_text().splitlines(keepends=True)
    (out / "records.jsonl").write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # died mid-write
    assert main(_argv(data_file, out, "--methods", "generation,unary,binary")) == 0
    again = [json.loads(l) for l in (out / "records.jsonl").read_text().splitlines()]
    orig = [json.loads(l) for l in lines]
    assert sorted(r["id"] for r in again) == ["t1", "t2", "t3", "t4"]
    assert again[:2] == orig[:2]  # untouched
    by_id = {o["id"]: o for o in orig}
    for a in again[2:]:  # recomputed with the same config: same numbers
        o = by_id[a["id"]]
        assert a["generation"]["ids"] == o["generation"]["ids"]
        np.testing.assert_allclose(a["methods"]["unary"], o["methods"]["unary"], atol=1e-6)
    assert read_manifest(out).resumed == 1


def test_same_config_same_numbers(data_file, run_dir, tmp_path):
    out = tmp_path / "again"
    assert main(_argv(data_file, out, "--methods", "generation")) == 0
    a = {r.id: r for r in iter_records(out)}
    for r in iter_records(run_dir):
        np.testing.assert_allclose(a[r.id].methods["first_step"], r.methods["first_step"], atol=1e-6)
        assert a[r.id].generation.ids == r.generation.ids


def test_classify_prints_table(capsys):
    assert main(["classify", "I am so happy today!", "--labels", "joy,anger", "--model", "smollm2-135m",
                 "--dtype", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "first_step" in out and "compare_to_none" in out and "joy" in out

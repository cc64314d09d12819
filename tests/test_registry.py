"""The method registry: every registered method is reachable from the CLI, evaluated by `evaluate`,
and round-trips through records; no other module names a method; imports point down the layers."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from labeldist.cli.main import build_parser
from labeldist.cli.options import run_config
from labeldist.errors import LabeldistError
from labeldist.methods import GROUPS, METHODS, apply_methods, groups_help, selected_methods
from labeldist.records import (
    AdaptedGeneration,
    BinaryScores,
    ExampleRecord,
    GenerationRecord,
    HumanDistribution,
    LabelSet,
    LabelSpan,
    MarginalScores,
    StepScores,
    UnaryScores,
)
from labeldist.report import evaluate_runs
from labeldist.runs.runner import RunConfig
from labeldist.runs.store import RunStore, iter_records
from tests.helpers import make_manifest

PACKAGE = Path(__file__).resolve().parents[1] / "labeldist"
MULTI = LabelSet(("joy", "anger", "fear"))
SINGLE = LabelSet(("pos", "neg", "neu"), multilabel=False)


def full_record(i: int, ls: LabelSet, rng: np.random.Generator) -> ExampleRecord:
    """A record holding everything every registered method reads (steps, answer, breakdown scores)."""
    n_cand = len(ls.candidates)
    q = rng.integers(0, 5, size=ls.n_labels) / 4
    if not ls.multilabel:
        q = np.bincount(rng.integers(0, ls.n_labels, size=4), minlength=ls.n_labels) / 4
    gold = [l for l, v in zip(ls.labels, q) if v >= 0.5] if ls.multilabel else [ls.labels[int(np.argmax(q))]]
    rec = ExampleRecord(f"e{i}", f"text {i}", gold=gold, human=HumanDistribution(tuple(map(float, q)), 4), split="test")
    rec.generation = GenerationRecord("...", [1, 2], [ls.labels[i % ls.n_labels]], [], "eos",
                                      token_logprobs=[-0.5, -0.1], label_spans=[LabelSpan(ls.labels[i % ls.n_labels], 0, 1)],
                                      grammar_logprobs=[-0.4, 0.0])
    lower = rng.uniform(0, 0.5, size=ls.n_labels)
    rec.marginal = MarginalScores(lower.tolist(), (lower + 0.1).tolist(), (lower + 0.05).tolist(), 0.9, 0.1)
    rec.steps = [StepScores(0, 1, ls.labels[0], rng.normal(size=n_cand)), StepScores(1, 2, ls.labels[1], rng.normal(size=n_cand))]
    rec.unary = UnaryScores(list(ls.candidates), {"reasonable": rng.normal(size=(n_cand, 2)).tolist(),
                                                  "unreasonable": rng.normal(size=(n_cand, 2)).tolist()}, [0.5] * n_cand)
    pairs = [[a, b] for a in range(n_cand) for b in range(a + 1, n_cand)]
    rec.binary = BinaryScores(pairs, {"a": [[0.0]] * len(pairs), "b": [[0.0]] * len(pairs)},
                              rng.uniform(0.05, 0.95, size=len(pairs)).tolist())
    for name, spec in METHODS.items():  # fitted models' outputs
        if "artefact" in spec.reads:
            p = rng.uniform(0.05, 0.95, size=ls.n_labels)
            rec.artefact_probs[name] = (p if ls.multilabel else p / p.sum()).tolist()
    rec.adapted = AdaptedGeneration(GenerationRecord("...", [3], [ls.labels[-1]], [], "grammar"),
                                    [StepScores(0, 3, ls.labels[-1], rng.normal(size=n_cand))])
    return rec


@pytest.mark.parametrize("ls", [MULTI, SINGLE], ids=["multi", "single"])
def test_every_method_is_reachable_evaluated_and_round_trips(tmp_path, ls):
    parser = build_parser()
    specs = selected_methods(list(GROUPS), ls)
    assert {s.name for s in specs} == {m for m, s in METHODS.items() if s.applies_to(ls)}
    help_text = " ".join(groups_help().split())
    for spec in specs:
        # reachable from the CLI: its group is a --methods value that RunConfig accepts, and the help names it
        args = parser.parse_args(["run", "--dataset", "x", "--methods", spec.group])
        assert spec.group in run_config(args).methods
        assert f"{spec.group} (" in help_text and spec.name in help_text
    rng = np.random.default_rng(0)
    store = RunStore.open(tmp_path / "run", make_manifest(labels=ls.labels, multilabel=ls.multilabel,
                                                          train_base_rates=[0.3] * ls.n_labels))
    written = []
    for i in range(12):
        rec = full_record(i, ls, rng)
        assert apply_methods(rec, specs, ls) == []  # nothing missing: no fallback
        store.append(rec)
        written.append(rec)
    # round trip: the stored record reads back equal, and recomputing every method gives the same numbers
    for before, after in zip(written, iter_records(tmp_path / "run")):
        assert after.to_dict() == before.to_dict()
        again = ExampleRecord.from_dict(json.loads(json.dumps(after.to_dict())))
        again.methods.clear()
        apply_methods(again, specs, ls)
        for name in after.methods:
            np.testing.assert_allclose(again.methods[name], after.methods[name], rtol=1e-12)
    # evaluated: every method is a row of the table, in registry order after the baselines
    res = evaluate_runs([tmp_path / "run"], n_boot=20)
    assert res.methods[2:] == [s.name for s in specs]
    for spec in specs:
        assert res.score("toy", spec.name, "nll") is not None


def test_a_method_name_is_not_a_group():
    with pytest.raises(LabeldistError, match=r"unknown method group 'first_step' \('first_step' is a method of group 'generation'\)"):
        RunConfig(methods=("first_step",))
    with pytest.raises(LabeldistError, match="no methods selected"):
        RunConfig(methods=())


def test_missing_input_is_a_counted_fallback_not_silent():
    rec = ExampleRecord("x", "t", generation=GenerationRecord("", [], [], [], "length"))
    fallbacks = apply_methods(rec, selected_methods(["generation"], MULTI), MULTI)
    assert fallbacks == ["first_step", "compare_to_none", "max_over_generations", "conditional", "joint"] == rec.fallbacks
    np.testing.assert_allclose(rec.methods["first_step"], [0.25] * 3)  # 1/L' with L' = 3 labels + none
    assert not rec.method_diagnostics["hard"].fallback


# -- the registry is the only place that names a method; imports point down ----------------------

# The registry, the estimators, and each method's own modules (its prompts, its scorer, its record layout).
NAMING_ALLOWED = {"methods.py", "estimators", "prompts/breakdown.py", "runs/breakdown_runner.py", "records/run.py",
                  "supervised", "runs/supervised.py"}
# The same words with another meaning: "binary" dataset variants, "hard" file layouts and training targets.
OTHER_MEANING = {"binary": ("data/",), "hard": ("supervised/", "data/")}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _allowed(rel: str) -> bool:
    return any(rel == a or rel.startswith(a + "/") for a in NAMING_ALLOWED)


def test_no_method_name_literal_outside_the_registry():
    names = set(METHODS) | set(GROUPS)
    hits = []
    for rel, tree in _modules():
        if _allowed(rel):
            continue
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if node.value in names and not rel.startswith(OTHER_MEANING.get(node.value, ("\0",))):
                    hits.append(f"{rel}:{node.lineno} {node.value!r}")
    assert hits == []


def _imports(tree) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_prompts_and_labels_do_not_import_backends_and_report_reads_estimators_only_via_the_registry():
    bad = []
    for rel, tree in _modules():
        mods = _imports(tree)
        if rel.startswith(("prompts/", "labels/")):
            bad += [f"{rel} -> {m}" for m in mods if m.startswith("labeldist.backends")]
        if rel.startswith("prompts/"):  # the answer grammar (labels/) is built from the prompt's pieces, not back
            bad += [f"{rel} -> {m}" for m in mods if m.startswith("labeldist.labels")]
        if rel.startswith("report/"):
            bad += [f"{rel} -> {m}" for m in mods if m.startswith("labeldist.estimators")]
        if rel.startswith("records/") or rel in ("numeric.py", "tokenizer.py", "errors.py", "streams.py"):
            bad += [f"{rel} -> {m}" for m in mods
                    if m.startswith("labeldist.") and not m.startswith(("labeldist.records", "labeldist.errors",
                                                                         "labeldist.numeric"))]
    assert bad == []

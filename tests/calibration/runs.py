"""Synthetic run directories with a known miscalibration, for the calibrate / evaluate integration tests.

Per example, candidate logits z (labels, then ``none`` = 0 for multi-label sets) with
z_l ~ N(offset_l, 1.5²); the stored step-based methods are the registry's estimators on z,
so compare-to-none reports σ(z_l) while the annotators' true rate is σ(2 z_l): the logits are
half as sharp as they should be (ideal temperature 0.5). q = Binomial(n_annotators, σ(2 z_l))
/ n_annotators (single-label: multinomial draws from softmax(2 z)).
"""

from __future__ import annotations

import numpy as np

from labeldist.methods import METHODS, EstimateOptions
from labeldist.records import ExampleRecord, HumanDistribution, LabelSet, StepScores
from labeldist.runs.store import RunStore
from tests.helpers import make_manifest

LABELS = ("joy", "anger", "fear")
OFFSETS = np.array([-1.0, -0.2, 0.6])
#: A stored non-step method (the registry's "hard" reads the parsed answer, which these records lack).
HARD = "hard"


def step_methods(ls: LabelSet) -> list[str]:
    return [m for m, s in METHODS.items() if s.reads == ("steps",) and s.applies_to(ls)]


def make_cal_run(path, *, n_dev=60, n_test=60, seed=0, labels=LABELS, multilabel=True, kind="annotators",
                 n_annotators=8, dev_split="dev", config=None, model="fake", id_prefix="ex", hard=False, edit=None):
    """Write a run directory at ``path``: ``n_dev`` records of split ``dev_split`` then ``n_test`` of split test."""
    ls = LabelSet(tuple(labels), multilabel=multilabel)
    n_labels = len(labels)
    store = RunStore.open(path, make_manifest(config or {"seed": 0}, labels=labels, multilabel=multilabel, model=model,
                                              train_base_rates=[0.3] * n_labels))
    rng = np.random.default_rng(seed)
    for i in range(n_dev + n_test):
        z = np.zeros(len(ls.candidates))
        z[:n_labels] = rng.normal(0.0, 1.5, n_labels) + OFFSETS[:n_labels]
        if multilabel:
            q = rng.binomial(n_annotators, 1 / (1 + np.exp(-2 * z[:n_labels]))) / n_annotators
            gold = [l for l, v in zip(labels, q) if v >= 0.5]
        else:
            e = np.exp(2 * z)
            q = rng.multinomial(n_annotators, e / e.sum()) / n_annotators
            gold = [labels[int(np.argmax(q))]]
        human = HumanDistribution(tuple(map(float, q)), n_annotators, "annotators") if kind == "annotators" else \
            HumanDistribution(tuple(float(l in gold) for l in labels), None, "aggregate_only")
        rec = ExampleRecord(f"{id_prefix}{i}", f"text {i}", gold=gold, human=human,
                            split=dev_split if i < n_dev else "test", steps=[StepScores(0, 1, labels[0], z)])
        for name in step_methods(ls):
            rec.methods[name] = [float(x) for x in METHODS[name].estimate(rec, ls, EstimateOptions())]
        if hard:
            rec.methods[HARD] = [1 - 1e-8 if v > 0 else 1e-8 for v in z[:n_labels]]
        if edit is not None:
            edit(i, rec)
        store.append(rec)
    return path

"""Small run directories for the analysis readers and `labeldist analyze`, written with RunStore."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from labeldist.records import ExampleRecord, GenerationRecord, HumanDistribution, ResolvedPrompt, StepScores
from labeldist.runs.store import RunStore
from tests.helpers import make_manifest

LABELS = ("a", "b", "c")


def example(id, steps, parsed, *, gold=None, human=None, labels=LABELS, multilabel=True, attention=()):
    """A record whose step ``k`` has softmax ``steps[k][0]`` (scores = log p) and generated label ``steps[k][1]``."""
    cands = labels + (("none",) if multilabel else ())
    rec = ExampleRecord(id, f"text of {id}", gold=None if gold is None else list(gold),
                        human=None if human is None else HumanDistribution(tuple(human), 4))
    rec.generation = GenerationRecord("...", list(range(10, 10 + 3 * len(steps) + 1)), list(parsed), [], "grammar")
    rec.steps = [StepScores(3 * k, 10 + 3 * k, lab, np.log(np.asarray(p, dtype=np.float64)))
                 for k, (p, lab) in enumerate(steps)]
    assert all(s.label in cands for s in rec.steps)
    rec.attention = list(attention)
    return rec


def write_run(path, records, *, labels=LABELS, multilabel=True, model="m1", n_parameters=None, dataset="toy",
              order_kind="canonical", label_order=None, ratio=0.5, sampling="multilabel", shots=10,
              decoding="constrained", methods=()):
    """A run directory holding ``records``, its manifest saying what the run varied."""
    order = list(label_order or {"canonical": labels, "reverse": labels[::-1]}.get(order_kind, labels))
    config = {"run": {"decoding": decoding, "model": model,
                      "prompt": {"label_order": order_kind, "demo_ratio": ratio, "shots": shots,
                                 "demo_sampling": sampling}}}
    m = make_manifest(config, labels=labels, multilabel=multilabel, dataset=dataset, model=model, methods=methods)
    m.prompt = ResolvedPrompt(demo_sampling=sampling, resolved={"label_order": order})
    if n_parameters is not None:
        m.model.extra = {"n_parameters": n_parameters}
    m.example_ids_sha256 = hashlib.sha256(json.dumps([r.id for r in records]).encode()).hexdigest()[:16]
    store = RunStore.open(path, m)
    for r in records:
        store.append(r)
    return path

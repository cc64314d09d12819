"""ChaosNLI v1.0 (Nie, Zhou & Bansal, EMNLP 2020): 100 crowd labels per NLI item, single-label.

Files ``chaosNLI_{snli,mnli_m,alphanli}.jsonl``; fields used: ``uid``, ``label_counter``
(label -> count), ``majority_label`` and ``example`` (``premise``/``hypothesis``, or
``obs1``, ``obs2``, ``hyp1``, ``hyp2`` for αNLI). CC BY-NC 4.0.

Labels: SNLI/MNLI ``entailment, neutral, contradiction`` (release codes e/n/c); αNLI
``hypothesis 1, hypothesis 2`` (release 1/2: which hypothesis explains the observations).
Text: ``Premise: …\\nHypothesis: …`` or ``Observation 1: …\\nObservation 2: …\\nHypothesis 1:
…\\nHypothesis 2: …``.

Human distribution (eq. 1): ``q_l = label_counter[l] / 100`` (only counts are released,
no rater ids; ``annotations`` holds the 100 votes as a multiset). Gold = the release's
``majority_label`` (its own tie rule; 14/14/8 items are tied).

Splits: ChaosNLI re-annotates dev sets, so there is no train split. A deterministic
partition assigns each item by hash of its text
(``hash_partition(normalize_text(text), salt="chaosnli-<subset>")``, half to ``test``), so
demos (``train``) never share an item or a text with the test split.
"""

from __future__ import annotations

import json
from pathlib import Path

from labeldist.data._common import (
    RowProblems, annotator_example, finish_splits, hash_partition, normalize_text, read_text,
)
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

SUBSETS = {"snli": "chaosNLI_snli.jsonl", "mnli": "chaosNLI_mnli_m.jsonl", "alphanli": "chaosNLI_alphanli.jsonl"}
CODES = {
    "snli": {"e": "entailment", "n": "neutral", "c": "contradiction"},
    "mnli": {"e": "entailment", "n": "neutral", "c": "contradiction"},
    "alphanli": {"1": "hypothesis 1", "2": "hypothesis 2"},
}


def _text(ex: dict, subset: str) -> str:
    if subset == "alphanli":
        return (f"Observation 1: {ex['obs1']}\nObservation 2: {ex['obs2']}\n"
                f"Hypothesis 1: {ex['hyp1']}\nHypothesis 2: {ex['hyp2']}")
    return f"Premise: {ex['premise']}\nHypothesis: {ex['hypothesis']}"


def load_chaosnli(folder: str | Path, subset: str, *, skip_invalid: bool = False) -> Dataset:
    path = Path(folder) / SUBSETS[subset]
    if not path.is_file():
        raise LabeldistError(f"dataset 'chaosnli-{subset}': no {path}", "put the ChaosNLI v1.0 jsonl files into <root>/chaosnli/")
    codes = CODES[subset]
    label_set = LabelSet(tuple(codes.values()), multilabel=False)
    problems = RowProblems(skip_invalid)
    splits: dict[str, list[Example]] = {"train": [], "test": []}
    seen: set[str] = set()
    for i, line in enumerate(read_text(path, problems=problems).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            key = str(rec["uid"])
            counts = {codes[str(k)]: int(v) for k, v in rec["label_counter"].items()}
            text = _text(rec["example"], subset)
            gold = (codes[str(rec["majority_label"])],)
        except json.JSONDecodeError as e:
            problems.bad(path, i, f"malformed JSON ({e.msg})", "use the unchanged release file")
            continue
        except (KeyError, TypeError, ValueError) as e:
            problems.bad(path, i, f"missing or unknown field/value ({e!r})", "use the unchanged release file")
            continue
        if key in seen or sum(counts.values()) < 1:
            problems.bad(path, i, f"duplicate uid {key!r} or no votes", "use the unchanged release file")
            continue
        seen.add(key)
        votes = [[lab] for lab in label_set.labels for _ in range(counts.get(lab, 0))]
        split = hash_partition(normalize_text(text), salt=f"chaosnli-{subset}")
        meta = {"source": rec["example"].get("source"), "old_labels": rec.get("old_labels")}
        splits[split].append(annotator_example(key, text, votes, label_set, split=split, gold=gold, meta=meta))
    desc = (f"ChaosNLI {subset} (Nie et al. 2020), CC BY-NC 4.0 (non-commercial); 100 votes per item; "
            "train/test = seeded hash partition of the release (no official train split).")
    return Dataset(f"chaosnli-{subset}", label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

"""DynaSent v1.1 (Potts et al. 2021): sentence sentiment, 5 crowd workers per item, single-label.

Files: ``dynasent-v1.1-round01-yelp-{dev,test}.jsonl``,
``dynasent-v1.1-round02-dynabench-{dev,test}.jsonl`` and ``sst-dev-validated.jsonl``.
Fields used: ``text_id``, ``sentence``, ``label_distribution`` (label -> list of worker
ids) and ``gold_label`` (the label of >= 3 of 5 workers, or null). CC BY 4.0.

Labels: positive, negative, neutral, mixed. Human distribution (eq. 1): number of
workers listed under a label / number of workers (5). Gold = the release's ``gold_label``
(``None`` when no label has 3 of 5 votes).

Splits. The train files are not in the shared folder, so for rounds 1 and 2 the official
**dev** file is the demo pool, exposed as split ``train`` (``meta["source_file"]`` names
the file), and the test file is ``test``. The SST revalidation has one file, split by
``hash_partition(normalize_text(sentence), salt="dynasent-sst")`` (half to ``test``).
"""

from __future__ import annotations

import json
from pathlib import Path

from labeldist.data._common import (
    RowProblems, annotator_example, finish_splits, hash_partition, normalize_text, read_text,
)
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

LABELS = ("positive", "negative", "neutral", "mixed")
ROUNDS = {
    "r1": {"train": "dynasent-v1.1-round01-yelp-dev.jsonl", "test": "dynasent-v1.1-round01-yelp-test.jsonl"},
    "r2": {"train": "dynasent-v1.1-round02-dynabench-dev.jsonl", "test": "dynasent-v1.1-round02-dynabench-test.jsonl"},
    "sst": {None: "sst-dev-validated.jsonl"},
}


def load_dynasent(folder: str | Path, subset: str, *, skip_invalid: bool = False) -> Dataset:
    folder = Path(folder)
    files = ROUNDS[subset]
    for name in files.values():
        if not (folder / name).is_file():
            raise LabeldistError(f"dataset 'dynasent-{subset}': no {folder / name}",
                                 "put the DynaSent v1.1 jsonl files into <root>/dynasent/")
    label_set = LabelSet(LABELS, multilabel=False)
    problems = RowProblems(skip_invalid)
    splits: dict[str, list[Example]] = {"train": [], "test": []}
    seen: set[str] = set()
    for fixed_split, name in files.items():
        path = folder / name
        for i, line in enumerate(read_text(path, problems=problems).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key, text, dist = str(rec["text_id"]), rec["sentence"], rec["label_distribution"]
                votes = {w: lab for lab, workers in dist.items() for w in workers}
                n_listed = sum(len(w) for w in dist.values())
                gold = rec["gold_label"]
            except json.JSONDecodeError as e:
                problems.bad(path, i, f"malformed JSON ({e.msg})", "use the unchanged release file")
                continue
            except (KeyError, TypeError, AttributeError) as e:
                problems.bad(path, i, f"missing field ({e!r})", "use the unchanged release file")
                continue
            problem = None
            if key in seen:
                problem = f"duplicate text_id {key!r}"
            elif not isinstance(text, str) or not text.strip():
                problem = "empty sentence"
            elif not votes or len(votes) != n_listed:
                problem = "no workers, or a worker listed under two labels"
            elif any(lab not in LABELS for lab in votes.values()) or (gold is not None and gold not in LABELS):
                problem = f"label outside {', '.join(LABELS)}"
            if problem:
                problems.bad(path, i, problem, "use the unchanged release file")
                continue
            seen.add(key)
            split = fixed_split or hash_partition(normalize_text(text), salt=f"dynasent-{subset}")
            workers = sorted(votes)
            meta = {"annotators": workers, "source_file": name}
            ex = annotator_example(key, text, [[votes[w]] for w in workers], label_set, split=split,
                                   gold=None if gold is None else (gold,), meta=meta)
            splits[split].append(ex)
    desc = (f"DynaSent v1.1 {subset} (Potts et al. 2021), CC BY 4.0; 5 workers per sentence; "
            + ("train = the official dev file (train files not available)." if subset != "sst"
               else "train/test = hash partition of the SST-dev revalidation."))
    return Dataset(f"dynasent-{subset}", label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

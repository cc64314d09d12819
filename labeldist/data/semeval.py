"""SemEval-2018 Task 1 E-c, English (Mohammad et al. 2018): multi-label emotions, aggregate labels only.

Files: ``2018-E-c-En-{train,dev,test-gold}.txt`` — UTF-8 TSV with a header ``ID, Tweet``
then 11 emotion columns of 0/1 (an emotion is 1 when at least 2 of 7 annotators said it can
be inferred). The files are also found under the reference layout ``English/E-c/``.

Labels: the 11 emotions sorted alphabetically (as the reference does); a row of zeros is
"no emotion" (``none``). Only aggregates are released, so every item's human vector is
``aggregate_only`` — a 0/1 target, not a distribution (REFERENCE §7). Split ``test-gold``
is exposed as ``test``; the reference evaluates on ``dev``.
"""

from __future__ import annotations

from pathlib import Path

from labeldist.data._common import RowProblems, aggregate_example, finish_splits, read_text
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

FILES = {"train": "2018-E-c-En-train.txt", "dev": "2018-E-c-En-dev.txt", "test": "2018-E-c-En-test-gold.txt"}
FIX = "put the official 2018-E-c-En-{train,dev,test-gold}.txt files into <root>/semeval2018_ec/"


def load_semeval(folder: str | Path, *, skip_invalid: bool = False) -> Dataset:
    folder = Path(folder)
    if not (folder / FILES["train"]).is_file() and (folder / "English" / "E-c").is_dir():
        folder = folder / "English" / "E-c"  # the reference's layout
    missing = [f for f in FILES.values() if not (folder / f).is_file()]
    if missing:
        raise LabeldistError(f"dataset 'semeval2018-ec': no {', '.join(missing)} in {folder}", FIX)
    problems = RowProblems(skip_invalid)
    label_set = None
    splits: dict[str, list[Example]] = {}
    for split, name in FILES.items():
        path = folder / name
        lines = read_text(path, problems=problems).split("\n")
        header = lines[0].rstrip("\r").split("\t")
        if header[:2] != ["ID", "Tweet"] or len(header) != 13:
            raise LabeldistError(f"{path} line 1: expected header ID, Tweet and 11 emotions", "use the official file")
        emotions = [h.strip().lower() for h in header[2:]]
        order = sorted(range(11), key=lambda j: emotions[j])
        if label_set is None:
            label_set = LabelSet(tuple(emotions[j] for j in order), multilabel=True)
        elif label_set.labels != tuple(emotions[j] for j in order):
            raise LabeldistError(f"{path} line 1: emotion columns differ from {FILES['train']}", "use the official files")
        out = splits.setdefault(split, [])
        for i, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            f = line.rstrip("\r").split("\t")
            if len(f) != 13 or not f[1].strip() or any(v not in ("0", "1") for v in f[2:]):
                problems.bad(path, i, "expected ID, a non-empty tweet and 11 values of 0/1", "fix the line")
                continue
            gold = tuple(emotions[j] for j in order if f[2 + j] == "1")
            out.append(aggregate_example(f[0], f[1], gold, label_set, split=split))
    desc = ("SemEval-2018 Task 1 E-c English; research use under the task terms; aggregate labels only "
            "(>= 2 of 7 annotators), so no human distribution.")
    return Dataset("semeval2018-ec", label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

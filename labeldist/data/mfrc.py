"""MFRC, the Moral Foundations Reddit Corpus (Trager et al. 2022), per-annotator rows plus ``splits.yaml``.

Files in the folder (REFERENCE §7):

* the Hugging Face ``USC-MOLA-Lab/MFRC`` ``train`` split saved as CSV, JSONL or Parquet
  (``final_mfrc_data.csv`` as released, or ``mfrc.{csv,jsonl,parquet}``), one row per
  (comment, annotator) with columns ``text``, ``annotator``, ``annotation`` (comma-separated
  foundations) and others that are ignored;
* ``splits.yaml`` copied from the reference repository (``configs/MFRC/splits.yaml``):
  ``{split: {text: id}}``; a comment's id and split come from its text.

Rules (reference loader, after the MFRC paper's Appendix A.2.1): an annotation that
combines ``Non-Moral`` or ``Thin Morality`` with anything else is invalid and the row is
dropped; ``Non-Moral`` or ``Thin Morality`` alone is a vote for no label (``none``). Dropped
rows, rows whose text is in no split, and repeated (comment, annotator) rows (the last one
wins, like the reference's dict) are counted in ``Dataset.description``.

Label set: the six foundations, sorted — authority, care, equality, loyalty,
proportionality, purity. *Fix:* the reference infers the set from the labels seen in each
split, so a split missing a foundation would get a different label set and column order;
here it is fixed, and a label outside it is an error.

Human distribution (eq. 1) ``q_l`` = fraction of the comment's annotators choosing ``l``;
gold = ``{l : q_l >= 0.5}`` (ties positive, as in the reference).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from labeldist.data._common import RowProblems, annotator_example, finish_splits
from labeldist.data._rows import is_missing, read_rows
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

LABELS = ("authority", "care", "equality", "loyalty", "proportionality", "purity")
NO_LABEL = ("non-moral", "thin morality")
DATA_FILES = ("final_mfrc_data.csv", "mfrc.csv", "mfrc.jsonl", "mfrc.parquet", "train.csv", "train.jsonl", "train.parquet")
FIX = ("put the Hugging Face USC-MOLA-Lab/MFRC train split (e.g. final_mfrc_data.csv) and the reference's "
       "configs/MFRC/splits.yaml into <root>/mfrc/")


def _data_file(folder: Path) -> Path:
    for name in DATA_FILES:
        if (folder / name).is_file():
            return folder / name
    raise LabeldistError(f"dataset 'mfrc': no {' / '.join(DATA_FILES)} in {folder}", FIX)


def _read_splits(path: Path) -> dict[str, tuple[str, str]]:
    """text -> (split, id) from ``splits.yaml``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster on 17k entries
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise LabeldistError(f"{path} is not valid UTF-8 YAML ({type(e).__name__})", "copy splits.yaml unchanged") from None
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise LabeldistError(f"{path}: expected {{split: {{text: id}}}}", "copy the reference's configs/MFRC/splits.yaml")
    out: dict[str, tuple[str, str]] = {}
    for split, mapping in doc.items():
        for text, key in mapping.items():
            if text in out and out[text][0] != split:
                raise LabeldistError(f"{path}: a text is in both {out[text][0]} and {split}", "fix splits.yaml")
            out[str(text)] = (str(split), str(key))
    return out


def load_mfrc(folder: str | Path, *, skip_invalid: bool = False) -> Dataset:
    folder = Path(folder)
    if not (folder / "splits.yaml").is_file():
        raise LabeldistError(f"dataset 'mfrc': no splits.yaml in {folder}", FIX)
    path = _data_file(folder)
    text_to_split = _read_splits(folder / "splits.yaml")
    problems = RowProblems(skip_invalid)
    columns, rows = read_rows(path, path.suffix.lstrip(".").lower(), encoding="utf-8", problems=problems)
    if columns is not None:
        missing = [c for c in ("text", "annotator", "annotation") if c not in columns]
        if missing:
            raise LabeldistError(f"{path}: missing column(s) {', '.join(missing)}", "save the HF dataset's columns unchanged")
    label_set = LabelSet(LABELS, multilabel=True)

    items: dict[str, dict] = {}  # id -> {"text", "split", "votes": {annotator: labels}}
    n_combo = n_outside = n_dup = 0
    for loc, row in rows:
        text, annotator, annotation = row.get("text"), row.get("annotator"), row.get("annotation")
        if not isinstance(text, str) or not text.strip():
            problems.bad(path, loc, "empty text", "remove the row")
            continue
        if text not in text_to_split:
            n_outside += 1  # the reference skips texts that are in no split
            continue
        if is_missing(annotator) or is_missing(annotation):
            problems.bad(path, loc, "empty annotator or annotation", "fill it in (Non-Moral for no foundation)")
            continue
        labels = [l.strip().lower() for l in str(annotation).split(",") if l.strip()]
        if len(labels) > 1 and any(l in NO_LABEL for l in labels):
            n_combo += 1  # invalid combination: dropped, as in the reference
            continue
        if labels and labels[0] in NO_LABEL:
            labels = []
        unknown = [l for l in labels if l not in LABELS]
        if unknown:
            problems.bad(path, loc, f"unknown foundation(s) {unknown}", f"use {', '.join(LABELS)}, Non-Moral or Thin Morality")
            continue
        split, key = text_to_split[text]
        item = items.setdefault(key, {"text": text, "split": split, "votes": {}})
        n_dup += str(annotator) in item["votes"]
        item["votes"][str(annotator)] = labels

    splits: dict[str, list[Example]] = {}
    for key, item in items.items():
        meta = {"annotators": list(item["votes"])}
        ex = annotator_example(key, item["text"], list(item["votes"].values()), label_set, split=item["split"], meta=meta)
        splits.setdefault(item["split"], []).append(ex)
    n_missing = len({k for _, k in text_to_split.values()} - set(items))
    desc = (f"MFRC (Trager et al. 2022) from {path.name} + splits.yaml; {n_combo} rows combining Non-Moral/Thin Morality "
            f"with other labels dropped; {n_outside} rows in no split ignored; {n_dup} repeated (comment, annotator) rows "
            f"kept the last; {n_missing} split ids without annotations.")
    return Dataset("mfrc", label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

"""HateXplain (Mathew et al., AAAI 2021) from the original release: ``dataset.json`` + ``post_id_divisions.json``.

``dataset.json`` maps post id -> ``{"post_id", "annotators": [{"label", "annotator_id",
"target"}, ...], "rationales", "post_tokens"}``; ``post_id_divisions.json`` maps
``train``/``val``/``test`` to post ids (``val`` is exposed as ``dev``). Text =
``" ".join(post_tokens)`` as in the reference. Labels (single-label, in this order): hate
(release name ``hatespeech``), normal, offensive. Usually 3 annotators per post.

Human distribution (eq. 1): vote share of each label among the post's annotators.

Gold and ties. A label chosen by a strict plurality of annotators is gold. When the top
count is tied (3 annotators, 3 different labels), the default ``tie_rule="undecided"``
gives ``gold=None``: the HateXplain authors call such posts *undecided* and keep them out
of their splits. *Fix:* the reference takes ``Counter.most_common`` whose tie goes to the
first annotator listed (REFERENCE §7), an arbitrary, order-dependent choice;
``tie_rule="first_seen"`` reproduces it. Posts of ``dataset.json`` that are in no
division are ignored and counted in the description.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from labeldist.data._common import RowProblems, annotator_example, finish_splits, read_text, require_dir
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

LABELS = ("hate", "normal", "offensive")
RELEASE_LABELS = {"hatespeech": "hate", "normal": "normal", "offensive": "offensive"}
SPLITS = {"train": "train", "val": "dev", "test": "test"}
FIX = "put the release's Data/dataset.json and Data/post_id_divisions.json into <root>/hatexplain/"


def _json(path: Path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise LabeldistError(f"{path} line {e.lineno}: malformed JSON ({e.msg})", "use the unchanged release file") from None


def load_hatexplain(folder: str | Path, *, tie_rule: str = "undecided", skip_invalid: bool = False) -> Dataset:
    if tie_rule not in ("undecided", "first_seen"):
        raise LabeldistError(f"unknown tie_rule {tie_rule!r}", "use 'undecided' or 'first_seen'")
    folder = require_dir(Path(folder), "hatexplain", ["dataset.json", "post_id_divisions.json"], FIX)
    posts, divisions = _json(folder / "dataset.json"), _json(folder / "post_id_divisions.json")
    path = folder / "dataset.json"
    label_set = LabelSet(LABELS, multilabel=False)
    problems = RowProblems(skip_invalid)
    splits: dict[str, list[Example]] = {}
    used: set[str] = set()
    n_ties = 0
    for release_split, split in SPLITS.items():
        out = splits.setdefault(split, [])
        for key in divisions.get(release_split, []):
            post = posts.get(key)
            where = f"post {key!r}"  # JSON has no useful line numbers once parsed
            if post is None:
                problems.bad(path, where, "listed in post_id_divisions.json but absent", "use matching release files")
                continue
            text = " ".join(post.get("post_tokens") or [])
            votes = [(str(a.get("annotator_id")), RELEASE_LABELS.get(str(a.get("label")).lower()))
                     for a in post.get("annotators") or []]
            if not text.strip() or not votes or any(lab is None for _, lab in votes):
                problems.bad(path, where, "empty text, no annotators, or a label outside hatespeech/normal/offensive",
                             "use the unchanged release file")
                continue
            labels = [lab for _, lab in votes]
            top = Counter(labels).most_common()
            tied = len(top) > 1 and top[0][1] == top[1][1]
            n_ties += tied
            gold = (top[0][0],) if not tied or tie_rule == "first_seen" else None
            meta = {"annotators": [a for a, _ in votes], "targets": [a.get("target") for a in post["annotators"]],
                    "source": key.rsplit("_", 1)[-1] if "_" in key else None}
            out.append(annotator_example(key, text, [[l] for l in labels], label_set, split=split, gold=gold, meta=meta))
            used.add(key)
    desc = (f"HateXplain (Mathew et al. 2021), CC BY 4.0; {len(posts) - len(used)} posts in no split ignored; "
            f"{n_ties} tied posts got gold " + ("None (undecided)." if tie_rule == "undecided" else "of the first annotator."))
    return Dataset("hatexplain", label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

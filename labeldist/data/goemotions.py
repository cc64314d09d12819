"""GoEmotions (Demszky et al., ACL 2020): aggregate split TSVs plus, when present, the raw per-rater CSVs.

Files (Google release, REFERENCE §7):

* ``emotions.txt`` — 28 names, one per line, ``neutral`` last (id = line index);
* ``{train,dev,test}.tsv`` — no header, ``text \\t comma-separated label ids \\t id``; split
  on tabs only (quotes are not CSV-escaped);
* optional ``goemotions_{1,2,3}.csv`` (in the folder or ``full_dataset/``) — one row per
  (comment, rater): ``text,id,author,subreddit,link_id,parent_id,created_utc,rater_id,
  example_very_unclear,<27 emotions>,neutral`` with 0/1 cells.

Labels. ``neutral`` is not a label: it becomes "no label" (``none``). With
``clusters=True`` (the paper's setting, A.2) the 27 emotions are pooled into 7 clusters,
each the union of its members: a rater or gold set "has" cluster ``c`` iff it has any
member emotion. The label order is the key order of the reference README's
``emotion_clustering.json``: joy, optimism, admiration, surprise, fear, sadness, anger.

Gold is the release's aggregate label set (an emotion chosen by >= 2 raters; the
TSVs keep only such comments), pooled the same way.

Human distribution (eq. 1) only with the raw CSVs: ``q_c`` = fraction of the comment's
raters whose row has any member of ``c``. As in the reference, a rater who flagged
``example_very_unclear`` (all-zero emotion row) or chose only ``neutral`` is kept and counts
as a ``none`` vote. Raw rows of comments outside the split are ignored; a split comment
with no raw row keeps an ``aggregate_only`` vector (counted in the description). A rater
listed twice for one comment keeps the last row, as the reference's dict does (counted).
Without the raw CSVs every item is ``aggregate_only``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from labeldist.data._common import RowProblems, aggregate_example, annotator_example, finish_splits, read_text
from labeldist.data._common import require_dir
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

# The reference README's emotion_clustering.json, in its key order (REFERENCE §2.4, paper A.2).
CLUSTERS: dict[str, tuple[str, ...]] = {
    "joy": ("amusement", "excitement", "joy", "love"),
    "optimism": ("desire", "optimism", "caring"),
    "admiration": ("pride", "admiration", "gratitude", "relief", "approval", "realization"),
    "surprise": ("surprise", "confusion", "curiosity"),
    "fear": ("fear", "nervousness"),
    "sadness": ("remorse", "embarrassment", "disappointment", "sadness", "grief"),
    "anger": ("anger", "disgust", "annoyance", "disapproval"),
}
SPLITS = ("train", "dev", "test")
RAW_FILES = tuple(f"goemotions_{i}.csv" for i in (1, 2, 3))
FIX = "point --root (or LABELDIST_SHARED_DATASETS) at a folder whose goemotions/ holds the Google release files"


def _emotions(folder: Path) -> list[str]:
    names = [l.strip() for l in read_text(folder / "emotions.txt").splitlines() if l.strip()]
    if len(names) != 28 or names[-1] != "neutral":
        raise LabeldistError(f"{folder / 'emotions.txt'}: expected 28 emotions ending with neutral, got {len(names)}",
                             "use the emotions.txt of the Google release")
    pooled = sorted(e for members in CLUSTERS.values() for e in members)
    if pooled != sorted(names[:-1]):  # guards the transcription of the clustering
        raise LabeldistError("emotion clustering does not cover the 27 emotions exactly once", "report this bug")
    return names


def load_goemotions(folder: str | Path, *, clusters: bool = True, raw: bool | None = None,
                    skip_invalid: bool = False) -> Dataset:
    """Load GoEmotions from ``folder``.

    ``raw=None`` uses the per-rater CSVs when all three are present; ``True`` requires them;
    ``False`` ignores them.
    """
    folder = require_dir(Path(folder), "goemotions", ["emotions.txt", *(f"{s}.tsv" for s in SPLITS)], FIX)
    emotions = _emotions(folder)
    emotion_to_label = ({e: c for c, members in CLUSTERS.items() for e in members} if clusters
                        else {e: e for e in emotions[:-1]})
    label_set = LabelSet(tuple(CLUSTERS) if clusters else tuple(emotions[:-1]), multilabel=True)
    problems = RowProblems(skip_invalid)

    def pool(names) -> tuple[str, ...]:
        out = {emotion_to_label[n] for n in names if n != "neutral"}
        return tuple(l for l in label_set.labels if l in out)

    rows: dict[str, list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]] = {}
    for split in SPLITS:
        rows[split] = []
        path = folder / f"{split}.tsv"
        for i, line in enumerate(read_text(path, problems=problems).split("\n"), start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r").split("\t")
            if len(fields) != 3 or not fields[0].strip():
                problems.bad(path, i, f"expected 3 tab-separated fields with a text, got {len(fields)}", "fix the line")
                continue
            try:
                ids = [int(x) for x in fields[1].split(",")]
            except ValueError:
                ids = [-1]
            if any(not 0 <= j < 28 for j in ids):
                problems.bad(path, i, f"label ids {fields[1]!r} are not integers in 0..27", "fix the label ids")
                continue
            names = tuple(emotions[j] for j in ids)
            rows[split].append((fields[2].strip(), fields[0], names, pool(names)))

    raw_dir = next((d for d in (folder, folder / "full_dataset") if all((d / f).is_file() for f in RAW_FILES)), None)
    if raw is True and raw_dir is None:
        raise LabeldistError(f"no {', '.join(RAW_FILES)} in {folder} or {folder / 'full_dataset'}",
                             "download them from the GoEmotions release (data/full_dataset/) into that folder")
    wanted = {r[0] for split_rows in rows.values() for r in split_rows}
    raters, n_dup = (_read_raw(raw_dir, emotions, wanted, problems) if raw_dir is not None and raw is not False
                     else (None, 0))

    splits: dict[str, list[Example]] = {}
    n_no_raw = 0
    for split, split_rows in rows.items():
        out = splits.setdefault(split, [])
        for key, text, names, gold in split_rows:
            meta = {"emotions": list(names)}
            per_rater = raters.get(key) if raters is not None else None
            if per_rater:
                meta["rater_ids"] = list(per_rater)
                anns = [pool(v) for v in per_rater.values()]
                out.append(annotator_example(key, text, anns, label_set, split=split, gold=gold, meta=meta))
            else:
                n_no_raw += raters is not None
                out.append(aggregate_example(key, text, gold, label_set, split=split, meta=meta))
    desc = ("GoEmotions (Demszky et al. 2020), Apache-2.0; " + ("7 emotion clusters (paper A.2); " if clusters else "27 emotions; ")
            + "neutral = none; gold = release aggregate (>= 2 raters). ")
    if raters is None:
        desc += "Per-rater CSVs absent: human vectors are aggregate_only."
    else:
        desc += (f"Human distribution from per-rater CSVs ({raw_dir}); unclear/neutral-only raters count as none; "
                 f"{n_no_raw} split items without raw rows are aggregate_only; {n_dup} duplicate (comment, rater) rows "
                 "kept the last one.")
    return Dataset("goemotions" if clusters else "goemotions-27", label_set, finish_splits(splits),
                   desc + problems.summary(), tuple(problems.skipped))


def _read_raw(raw_dir: Path, emotions: list[str], wanted: set[str], problems: RowProblems):
    """comment id -> {rater_id: emotion names} for the ids in ``wanted``; also the duplicate count."""
    raters: dict[str, dict[str, tuple[str, ...]]] = {}
    n_dup = 0
    for name in RAW_FILES:
        path = raw_dir / name
        reader = csv.reader(io.StringIO(read_text(path, problems=problems), newline=""))
        header = next(reader, None) or []
        need = ["id", "rater_id", "example_very_unclear", *emotions]
        missing = [c for c in need if c not in header]
        if missing:
            raise LabeldistError(f"{path}: missing column(s) {', '.join(missing)}", "use the unchanged release CSV")
        col = {c: header.index(c) for c in need}
        emo_cols = [(e, col[e]) for e in emotions[:-1]]  # neutral is "no label"
        prev = reader.line_num
        for fields in reader:
            start, prev = prev + 1, reader.line_num
            if len(fields) != len(header):
                problems.bad(path, start, f"has {len(fields)} fields, header has {len(header)}", "fix the quoting")
                continue
            key = fields[col["id"]]
            if key not in wanted:
                continue
            try:
                names = tuple(e for e, j in emo_cols if int(fields[j]))
            except ValueError:
                problems.bad(path, start, "emotion cells must be 0 or 1", "fix the row")
                continue
            per = raters.setdefault(key, {})
            rater = fields[col["rater_id"]].strip()
            n_dup += rater in per
            per[rater] = names
    return raters, n_dup

"""Le-Wi-Di shared tasks: 2023 (SemEval Task 11) and 2025 (NLPerspectives), per-annotator labels with ids.

Each file is one JSON object, item id -> record (``readme.md`` of each release). Ids restart
at 1 in every split file, so labeldist ids are ``"<split>-<release id>"``
(``meta["source_id"]`` keeps the release id).

**2023** (``lewidi2023/<X>_dataset/<X>_{train,dev,test}.json``): ``annotations`` and
``annotators`` are aligned comma-separated strings.

* ``lewidi-md`` (MD-Agreement, offensive tweets), ``lewidi-hsbrexit`` (hate speech),
  ``lewidi-armis`` (Arabic misogyny), ``lewidi-convabuse`` (abuse towards a chatbot):
  binary, single-label ``not X`` / ``X``. ConvAbuse annotations are severities −3..1;
  −3, −2, −1 count as abusive, 0 and 1 as not abusive (readme). Gold = the release's
  ``hard_label`` (majority; the organisers broke the rare ties at random).
* ``lewidi-hsbrexit-ml``: multi-label ``hate, aggressive, offensive`` per annotator, from
  ``annotations`` plus ``other_info["other annotations"]``. *Data note:* three items
  (train 426, 604; test 8) have ``No`` in place of ``0`` in the offensive vector; it is
  read as 0 and counted in the description.
* ``lewidi-convabuse-types``: multi-label abuse types per annotator from
  ``other_info.other_annotations``: ableist, homophobic, intellectual, racist, sexist,
  harassment (release ``sex_harassment``), transphobic.

ConvAbuse ``text`` is a JSON string of the last four turns, shown as
``Agent: …\\nUser: …\\nAgent: …\\nUser: …`` (the last user turn is the one annotated).

**2025** (``lewidi2025/<X>/<X>_{train,dev,test}.json``): ``annotations`` maps annotator
-> label string; ``text`` is a dict shown as ``Field: value`` lines.

* ``lewidi-varierrnli``: NLI, multi-label per annotator (``"entailment,neutral"``):
  entailment, neutral, contradiction. Items with one annotator are ``single_annotator``.
* ``lewidi-csc`` (sarcasm 1..6), ``lewidi-mp`` (irony: ``not ironic``/``ironic``),
  ``lewidi-paraphrase`` (Likert −5..5): single-label, labels as in the release.
  CSC and MP have no train file here: their **dev** file is the demo pool, exposed as
  split ``train``.

Human distribution (eq. 1): fraction of an item's annotators choosing each label (equal to
the release's ``soft_label``, which is rounded to 2 decimals in 2023). Gold for the
2023 binary tasks is ``hard_label``; otherwise multi-label ``q_l >= 0.5`` and single-label
the unique plurality (``None`` on ties).
"""

from __future__ import annotations

import json
from pathlib import Path

from labeldist.data._common import RowProblems, annotator_example, finish_splits, read_text
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

TASKS_2023 = {  # name -> (release name, binary labels)
    "md": ("MD-Agreement", ("not offensive", "offensive")),
    "hsbrexit": ("HS-Brexit", ("not hate", "hate")),
    "armis": ("ArMIS", ("not misogynistic", "misogynistic")),
    "convabuse": ("ConvAbuse", ("not abusive", "abusive")),
}
HSBREXIT_ML = {"hate": None, "aggressive": "aggressive language detection", "offensive": "offensive language detection"}
ABUSE_TYPES = {"ableist": "ableist", "homophobic": "homophobic", "intellectual": "intellectual", "racist": "racist",
               "sexist": "sexist", "harassment": "sex_harassment", "transphobic": "transphobic"}
TASKS_2025 = {  # name -> (release name, multilabel, release value -> label)
    "varierrnli": ("VariErrNLI", True, {"entailment": "entailment", "neutral": "neutral", "contradiction": "contradiction"}),
    "csc": ("CSC", False, {str(i): str(i) for i in range(1, 7)}),
    "mp": ("MP", False, {"0": "not ironic", "1": "ironic"}),
    "paraphrase": ("Paraphrase", False, {str(i): str(i) for i in range(-5, 6)}),
}
YES_NO = {"No": "0", "no": "0", "Yes": "1", "yes": "1"}  # HS-Brexit "offensive" vectors hold a few "No" (3 items)
FIELD_NAMES = {"Question1": "Question 1", "Question2": "Question 2"}
ORDER = ("train", "dev", "test")


def _files(folder: Path, release: str, dataset: str) -> dict[str, Path]:
    files = {s: folder / f"{release}_{s}.json" for s in ORDER if (folder / f"{release}_{s}.json").is_file()}
    if "test" not in files or len(files) < 2:
        raise LabeldistError(f"dataset {dataset!r}: no {release}_{{train,dev,test}}.json in {folder}",
                             f"put the Le-Wi-Di release files of {release} into {folder}")
    if "train" not in files:  # CSC/MP: the train file is missing from the shared copy
        files = {"train": files["dev"], "test": files["test"]}
    return files


def _records(path: Path, problems: RowProblems) -> dict:
    try:
        doc = json.loads(read_text(path, problems=problems))
    except json.JSONDecodeError as e:
        raise LabeldistError(f"{path} line {e.lineno}: malformed JSON ({e.msg})", "use the unchanged release file") from None
    if not isinstance(doc, dict):
        raise LabeldistError(f"{path}: expected a JSON object of items", "use the unchanged release file")
    return doc


def _dialogue(text: str) -> str:
    turns = json.loads(text)
    lines = [(who, turns.get(k) or "") for who, k in (("Agent", "prev_agent"), ("User", "prev_user"),
                                                       ("Agent", "agent"), ("User", "user"))]
    return "\n".join(f"{who}: {t}" for who, t in lines if t.strip())


def _csv(value) -> list[str]:
    return [v.strip() for v in str(value).split(",")]


def load_lewidi2023(folder: str | Path, task: str, *, variant: str = "binary", skip_invalid: bool = False) -> Dataset:
    """``variant``: ``binary`` for every task, ``ml`` (hsbrexit), ``types`` (convabuse)."""
    release, binary = TASKS_2023[task]
    folder = Path(folder) / f"{release}_dataset"
    name = f"lewidi-{task}" + ("" if variant == "binary" else f"-{variant}")
    files = _files(folder, release, name)
    if variant == "binary":
        label_set = LabelSet(binary, multilabel=False)
    elif (task, variant) in (("hsbrexit", "ml"), ("convabuse", "types")):
        label_set = LabelSet(tuple(HSBREXIT_ML if task == "hsbrexit" else ABUSE_TYPES), multilabel=True)
    else:
        raise LabeldistError(f"no variant {variant!r} for lewidi-{task}", "use binary, hsbrexit ml or convabuse types")
    problems = RowProblems(skip_invalid)
    splits: dict[str, list[Example]] = {}
    n_yes_no = 0
    for split, path in files.items():
        out = splits.setdefault(split, [])
        for key, rec in _records(path, problems).items():
            where = f"item {key!r}"
            try:
                annotators, values = _csv(rec["annotators"]), _csv(rec["annotations"])
                text = _dialogue(rec["text"]) if task == "convabuse" else rec["text"]
                if len(annotators) != len(values) or not text.strip():
                    raise ValueError("annotators and annotations differ in length, or empty text")
                if variant == "binary":
                    scores = [int(v) for v in values]
                    if task == "convabuse":
                        scores = [int(s <= -1) for s in scores]  # severity -3..-1 = abusive
                    if any(s not in (0, 1) for s in scores):
                        raise ValueError(f"annotations {values} are not 0/1")
                    votes = [[binary[s]] for s in scores]
                    gold = (binary[int(rec["hard_label"])],)
                else:
                    other = rec["other_info"]["other annotations" if task == "hsbrexit" else "other_annotations"]
                    columns = {lab: values if src is None else _csv(other[src])
                               for lab, src in (HSBREXIT_ML if task == "hsbrexit" else ABUSE_TYPES).items()}
                    n_yes_no += sum(v in YES_NO for col in columns.values() for v in col)
                    columns = {lab: [YES_NO.get(v, v) for v in col] for lab, col in columns.items()}
                    if any(len(v) != len(annotators) or set(v) - {"0", "1"} for v in columns.values()):
                        raise ValueError("label vectors are not 0/1 or not aligned with the annotators")
                    votes = [[lab for lab, v in columns.items() if v[j] == "1"] for j in range(len(annotators))]
                    gold = "majority"
            except (KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
                problems.bad(path, where, f"unreadable record ({e})", "use the unchanged release file")
                continue
            meta = {"source_id": key, "annotators": annotators, "lang": rec.get("lang"), "other_info": rec.get("other_info")}
            out.append(annotator_example(f"{split}-{key}", text, votes, label_set, split=split, gold=gold, meta=meta))
    desc = (f"Le-Wi-Di 2023 {release} ({variant}); research use under the original dataset's terms; "
            "per-annotator labels with annotator ids" + (f"; {n_yes_no} 'No'/'Yes' values read as 0/1." if n_yes_no else "."))
    return Dataset(name, label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))


def _numeric(value: str) -> str:
    """Release values such as "1", "1.0", "-3" -> canonical integer strings."""
    try:
        return str(int(float(value)))
    except ValueError:
        return value.strip()


def load_lewidi2025(folder: str | Path, task: str, *, skip_invalid: bool = False) -> Dataset:
    release, multilabel, values = TASKS_2025[task]
    folder = Path(folder) / release
    name = f"lewidi-{task}"
    files = _files(folder, release, name)
    label_set = LabelSet(tuple(values.values()), multilabel=multilabel)
    problems = RowProblems(skip_invalid)
    splits: dict[str, list[Example]] = {}
    for split, path in files.items():
        out = splits.setdefault(split, [])
        for key, rec in _records(path, problems).items():
            try:
                fields = rec["text"]
                text = "\n".join(f"{FIELD_NAMES.get(k, k.capitalize())}: {v}" for k, v in fields.items())
                anns = rec["annotations"]
                if not anns or not all(str(v).strip() for v in fields.values()):
                    raise ValueError("no annotations or an empty text field")
                if multilabel:
                    votes = [[values[v] for v in _csv(lab)] for lab in anns.values()]
                else:
                    votes = [[values[_numeric(str(lab))]] for lab in anns.values()]
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                problems.bad(path, f"item {key!r}", f"unreadable record ({e!r})", "use the unchanged release file")
                continue
            meta = {"source_id": key, "annotators": list(anns), "lang": rec.get("lang"), "source_split": rec.get("split")}
            out.append(annotator_example(f"{split}-{key}", text, votes, label_set, split=split, meta=meta))
    desc = (f"Le-Wi-Di 2025 {release}; research use under the original dataset's terms; per-annotator labels with ids"
            + ("; train = the official dev file (train file not available)." if "dev" not in splits and
               files["train"].name.endswith("_dev.json") else "."))
    return Dataset(name, label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))

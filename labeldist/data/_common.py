"""Helpers shared by the dataset loaders: file reading, row problems, gold rules, partitions.

Gold (aggregate) rules used by the loaders unless a corpus ships its own:

* multi-label, from annotators: label ``l`` is gold iff ``q_l >= 0.5`` where
  ``q_l`` = fraction of the item's annotators choosing ``l`` (paper eq. 1). A 50 % tie
  counts as positive, as in the reference's MFRC loader.
* single-label, from annotators: the plurality label if it is unique; a tie for the top
  vote share gives ``gold=None`` (no aggregate label exists), never an arbitrary pick.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, Example, HumanDistribution, LabelSet, normalize_label

SKIP_FIX = "or pass skip_invalid=True (CLI: --skip-invalid) to skip such rows and count them"


class RowProblems:
    """Collects row-level problems: raise at once, or record them when skipping is allowed.

    Every message is one line naming the file and line: ``<file> line <n>: <problem>``.
    """

    def __init__(self, skip_invalid: bool):
        self.skip_invalid = skip_invalid
        self.skipped: list[str] = []

    def bad(self, path: Path | str, line: int | str | None, problem: str, fix: str) -> None:
        """Report a bad row: raise a LabeldistError, or (``skip_invalid``) record it and return.

        ``line`` is a line number, a ready-made location such as ``"row 7"``, or None.
        """
        if line is None:
            where = f"{path}"
        elif isinstance(line, int):
            where = f"{path} line {line}"
        else:
            where = f"{path} {line}"
        if not self.skip_invalid:
            raise LabeldistError(f"{where}: {problem}", f"{fix}, {SKIP_FIX}")
        self.skipped.append(" ".join(f"{where}: {problem}".split()))

    def summary(self) -> str:
        """Sentence for ``Dataset.description``; empty when nothing was skipped."""
        if not self.skipped:
            return ""
        return f" Skipped {len(self.skipped)} invalid row(s) (skip_invalid=True); see Dataset.skipped."


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)


def read_text(path: Path, *, encoding: str = "utf-8", problems: RowProblems | None = None) -> str:
    """Read a whole text file; a leading UTF-8 BOM is removed, CRLF is kept for the caller.

    An undecodable byte raises a one-line LabeldistError with the file and line. With
    ``problems.skip_invalid`` the undecodable lines are skipped (and recorded) instead.
    A UTF-16/32 file (byte-order mark, or NUL bytes) read as UTF-8 always raises, naming
    its encoding: skipping lines cannot repair it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LabeldistError(f"file not found: {path}", "check the path") from None
    except OSError as e:
        raise LabeldistError(f"cannot read {path}: {e.strerror}", "check the path and its permissions") from None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise LabeldistError(f"unknown encoding {encoding!r} for {path}", "pass a Python codec name such as "
                             "'utf-8', 'latin-1' or 'utf-16'") from None
    is_utf8 = codecs.lookup(encoding).name == "utf-8"
    enc = "utf-8-sig" if is_utf8 else encoding
    if is_utf8:
        for bom, wide in _BOMS:
            if data.startswith(bom):
                raise LabeldistError(
                    f"{path} is {wide.upper()} text (it starts with a {wide.upper()} byte-order mark), not UTF-8",
                    f"re-save it as UTF-8 (e.g. iconv -f {wide} -t utf-8 FILE > NEW), or read it with "
                    f"encoding={wide!r} (API)",
                )
        # Before decoding: UTF-16 without a mark fails on its first non-ASCII character, and
        # blaming that byte (latin-1 advice) would send the user the wrong way.
        at = data.find(b"\x00")
        if at >= 0:
            _nul_error(path, data[:at].count(b"\n") + 1)
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as e:
        if problems is None or not problems.skip_invalid:
            line = data[: e.start].count(b"\n") + 1
            raise LabeldistError(
                f"{path} line {line}: byte 0x{data[e.start]:02x} is not valid {encoding}",
                f"re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE > NEW), or read it with the "
                f"file's encoding (API: encoding='latin-1'), {SKIP_FIX}",
            ) from None
        text = None
    if text is not None:
        _check_no_nul(path, text)
        return text
    # Skipping: decode line by line and drop the lines that fail.
    out: list[str] = []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        try:
            out.append(raw.decode(enc if i == 1 else encoding))
        except UnicodeDecodeError:
            problems.bad(path, i, f"line is not valid {encoding}", "re-save the file as UTF-8")
    text = "\n".join(out)
    _check_no_nul(path, text)
    return text


def _check_no_nul(path: Path, text: str) -> None:
    """NUL never occurs in text files; it marks UTF-16 without a byte-order mark, or binary data."""
    at = text.find("\x00")
    if at >= 0:
        _nul_error(path, text.count("\n", 0, at) + 1)


def _nul_error(path: Path, line: int) -> None:
    raise LabeldistError(
        f"{path} line {line}: NUL byte, so this is not UTF-8 text (UTF-16 without a byte-order mark, "
        "or a binary file)",
        "re-save it as UTF-8 (e.g. iconv -f utf-16le -t utf-8 FILE > NEW), or check that it is the right file",
    )


def require_dir(path: Path, dataset: str, files: Sequence[str], fix: str) -> Path:
    """Check that ``path`` holds ``files``; else raise saying where we looked and how to fix."""
    missing = [f for f in files if not (path / f).is_file()]
    if not path.is_dir() or missing:
        what = "folder" if not path.is_dir() else f"file(s) {', '.join(missing)} in"
        raise LabeldistError(f"dataset {dataset!r}: no {what} {path}", fix)
    return path


def majority_multilabel(probs: Sequence[float], label_set: LabelSet) -> tuple[str, ...]:
    """Gold labels of a multi-label item: every label with vote share q_l >= 0.5."""
    return tuple(l for l, p in zip(label_set.labels, probs) if p >= 0.5 - 1e-12)


def plurality_single(probs: Sequence[float], label_set: LabelSet) -> tuple[str, ...] | None:
    """Gold label of a single-label item: the unique top vote share, else None (tie)."""
    top = max(probs)
    winners = [l for l, p in zip(label_set.labels, probs) if abs(p - top) < 1e-12]
    return (winners[0],) if len(winners) == 1 else None


def aggregate_gold(human: HumanDistribution, label_set: LabelSet) -> tuple[str, ...] | None:
    """The default gold rule for annotator-level data (module docstring)."""
    if label_set.multilabel:
        return majority_multilabel(human.probs, label_set)
    return plurality_single(human.probs, label_set)


def annotator_example(
    id: str,
    text: str,
    annotations: Sequence[Sequence[str]],
    label_set: LabelSet,
    *,
    split: str,
    gold: tuple[str, ...] | None | str = "majority",
    meta: dict | None = None,
) -> Example:
    """Example from per-annotator label lists: human = eq. 1, gold = majority unless given."""
    # In multi-label sets "none" is a vote for no label: store it as an empty tuple.
    anns = tuple(
        tuple(l for l in map(normalize_label, a) if not (label_set.multilabel and l == NONE_LABEL))
        for a in annotations
    )
    human = HumanDistribution.from_annotations(anns, label_set)
    if isinstance(gold, str):
        gold = aggregate_gold(human, label_set)
    return Example(id=id, text=text, gold=gold, human=human, annotations=anns, split=split, meta=meta or {})


def aggregate_example(
    id: str, text: str, gold: Iterable[str], label_set: LabelSet, *, split: str, meta: dict | None = None
) -> Example:
    """Example with only an aggregate label set: a 0/1 vector marked ``aggregate_only``."""
    gold = tuple(gold)
    human = HumanDistribution(tuple(float(x) for x in label_set.multi_hot(gold)), None, "aggregate_only")
    return Example(id=id, text=text, gold=gold, human=human, annotations=None, split=split, meta=meta or {})


def normalize_text(text: str) -> str:
    """Comparison form of a text: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def hash_partition(key: str, *, salt: str, test_fraction: float = 0.5) -> str:
    """Deterministic train/test assignment of one item, independent of file order.

    ``u = int(sha256(f"{salt}:{key}")[:16 hex], 16) / 16**16``; the item is ``test`` iff
    ``u < test_fraction``. Adding or removing other items never moves an item. Loaders
    pass ``normalize_text(text)`` as the key, so items with the same text (VADER has
    such repeats) always land in the same split and cannot leak from demos into tests.
    """
    h = hashlib.sha256(f"{salt}:{key}".encode("utf-8")).hexdigest()[:16]
    return "test" if int(h, 16) / 16**16 < test_fraction else "train"


def env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def finish_splits(splits: dict[str, list[Example]], order: Sequence[str] = ("train", "dev", "test")) -> dict[str, tuple[Example, ...]]:
    """Freeze split lists in a canonical order (train, dev, test, then the rest)."""
    keys = [k for k in order if k in splits] + sorted(k for k in splits if k not in order)
    return {k: tuple(splits[k]) for k in keys}

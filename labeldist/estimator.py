"""``LabelDistClassifier``: a scikit-learn estimator over texts with calibrated per-label probabilities.

>>> from labeldist import LabelDistClassifier                          # doctest: +SKIP
>>> est = LabelDistClassifier(labels=["joy", "anger"], model="smollm2-135m", shots=4)  # doctest: +SKIP
>>> est.fit(train_texts, Q)            # Q: (n, L) annotator fractions, or 0/1    # doctest: +SKIP
>>> est.predict_proba(test_texts)      # (n_test, L) float64                      # doctest: +SKIP

What ``fit(texts, y)`` does, in order:

1. Targets t = ``human`` when given, else y; gold = {l : t_l ≥ 0.5} (single-label: argmax).
2. With ``shots > 0`` the training texts are the demo pool: the run's seeded demo draw
   (``PromptConfig.seed``, stream ``demos``) picks ``shots`` of them for the prompt.
3. The calibrator is fitted on the training texts *not shown as demos* (all of them with
   ``shots=0``): the method is computed on them with the fitted prompt and the calibrator
   chosen by the dev rule of :mod:`labeldist.calibration.selection` (``calibrator="auto"``:
   lowest 5-fold CV NLL, folds seeded with ``seed``) or the named one is fitted against t.
   Every calibrator but ``"none"`` needs at least 20 such texts.
4. With ``thresholds`` set, per-label thresholds are chosen on the calibrated probabilities
   of the same texts against their gold sets (:func:`labeldist.calibration.select_thresholds`).

5. A supervised method (``probe``, ``encoder``, ``encoder_frozen``) is first trained on the
   training texts (demos left out; a seeded 20% of them as its dev split, on which it picks its
   hyperparameters), its artefacts in a working directory (``workdir_``, a temporary one
   unless ``workdir=`` is given); the calibrator is then fitted on that held-out dev share, never
   on the texts the model was trained on. The SFT methods change the (shared) model and are
   refused here: use ``labeldist run --methods sft``.

The model loads lazily in ``fit`` and is kept out of the parameters: ``clone`` does not copy
it, and loaded models are shared through a one-entry module cache keyed by (model, dtype,
batch_size), so ``cross_val_predict`` loads a model once. ``backend`` may instead be a
loaded :class:`~labeldist.backends.base.Backend` (``clone`` deep-copies it) or a function
returning one (shared by clones, e.g. ``backend=lambda: ld.load_backend("smollm2-135m")``).

``sklearn.model_selection.cross_val_predict(est, texts, y, cv=2, method="predict_proba")``
label-encodes each column of y before fitting: pass 0/1 y there (each column holding both
values), and the annotator fractions as ``params={"human": Q}``, which it splits per fold.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from labeldist.backends.models import DEFAULT_MODEL
from labeldist.calibration import CALIBRATORS, OBJECTIVES, select_calibrator, select_thresholds, temperature_methods
from labeldist.calibration.apply import method_input
from labeldist.errors import LabeldistError
from labeldist.methods import METHODS, calibratable_methods
from labeldist.metrics import EPS, check_probs, nll_loss
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, HumanDistribution, LabelSet
from labeldist.runs.runner import Classifier, RunConfig, run_examples

AUTO = "auto"
_BACKENDS: dict[tuple, object] = {}  # one loaded model, shared by an estimator's clones


def _cached_backend(model: str, dtype: str, batch_size: int):
    key = (model, dtype, batch_size)
    if key not in _BACKENDS:
        from labeldist.backends import load_backend

        _BACKENDS.clear()  # keep one model in memory
        _BACKENDS[key] = load_backend(model, dtype=dtype, batch_size=batch_size)
    return _BACKENDS[key]


def release_backends() -> None:
    """Drop the module's cached model (the next ``fit`` loads it again)."""
    _BACKENDS.clear()


def cleanlab_labels(y, threshold: float = 0.5) -> list[list[int]]:
    """Multi-label ``labels`` for cleanlab: per row, the column indices with y ≥ ``threshold``.

    >>> cleanlab_labels([[1, 0, 1], [0.25, 0.75, 0]])
    [[0, 2], [1]]
    """
    y = np.asarray(y, dtype=np.float64)
    return [np.flatnonzero(row >= threshold).tolist() for row in y]


class LabelDistClassifier(ClassifierMixin, BaseEstimator):
    """Calibrated per-label probabilities of a language model, as a scikit-learn estimator over texts.

    Parameters
    ----------
    labels : sequence of str
        The label set, in column order of y and of every output.
    model : str, default=labeldist's default model
        Registered model name, ``.gguf`` file or Hugging Face directory (local backend).
    method : str, optional
        A registered method (``labeldist.methods.METHODS``). Default: compare_to_none for
        multi-label sets, first_step for single-label ones.
    multilabel : bool, default=True
    calibrator : {"auto", "none", "temperature", "platt", "isotonic"}, default="auto"
        ``"auto"``: the dev CV-NLL rule; temperature applies to step-based methods only.
    thresholds : {None, "f1", "precision", "recall"}, default=None
        Choose per-label thresholds for ``predict`` (None: p ≥ 0.5, argmax single-label).
    threshold_target : float, optional
        Precision or recall target in (0, 1].
    shots : int, default=0
        Demonstrations drawn from the training texts.
    demo_sampling, seed, label_format, chat, instruction, max_new_tokens :
        Prompt options (:class:`labeldist.prompts.fewshot.PromptConfig`); ``seed`` also seeds
        the calibrator's cross-validation folds.
    dtype : {"auto", "bf16", "fp32"}, default="auto"
    batch_size : int, default=20
    backend : Backend or callable, optional
        A loaded backend, or a function returning one, instead of loading ``model``.
    progress : bool, default=False
        Progress bars while classifying.
    workdir : str, optional
        Where a supervised method's fitted artefacts go (default: a new temporary directory).

    Attributes
    ----------
    classes_ : ndarray of str, shape (n_labels,)
    label_set_ : LabelSet
    method_ : str
    calibration_ : CalibrationSelection
        The fitted calibrator, its name and (``"auto"``) the CV NLL of every candidate.
    thresholds_ : Thresholds or None
    demo_ids_ : list of str
        Training rows (``"fit-<index>"``) shown as demos.
    n_calibration_items_ : int
    fit_info_ : str
        What the calibrator was fitted on, in words.
    """

    def __init__(self, labels: Sequence[str] | None = None, *, model: str = DEFAULT_MODEL, method: str | None = None,
                 multilabel: bool = True, calibrator: str = AUTO, thresholds: str | None = None,
                 threshold_target: float | None = None, shots: int = 0, demo_sampling: str | None = None,
                 seed: int = 0, label_format: str = "json", chat: bool | None = None, instruction: str | None = None,
                 max_new_tokens: int = 18, dtype: str = "auto", batch_size: int = 20, backend=None,
                 progress: bool = False, workdir: str | None = None):
        self.labels = labels
        self.model = model
        self.method = method
        self.multilabel = multilabel
        self.calibrator = calibrator
        self.thresholds = thresholds
        self.threshold_target = threshold_target
        self.shots = shots
        self.demo_sampling = demo_sampling
        self.seed = seed
        self.label_format = label_format
        self.chat = chat
        self.instruction = instruction
        self.max_new_tokens = max_new_tokens
        self.dtype = dtype
        self.batch_size = batch_size
        self.backend = backend
        self.progress = progress
        self.workdir = workdir

    # -- scikit-learn plumbing ------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        return tags

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_backend", None)  # the model is reloaded (or taken from ``backend``) after unpickling
        state.pop("_classifier", None)
        state.pop("_pool_for_config", None)
        return state

    # -- validation -----------------------------------------------------------------------
    def _label_set(self) -> LabelSet:
        if self.labels is None or isinstance(self.labels, str) or len(self.labels) == 0:
            raise LabeldistError(f"LabelDistClassifier needs labels=[...], got {self.labels!r}",
                                 "pass the label names in the column order of y")
        return LabelSet(tuple(str(l) for l in self.labels), multilabel=bool(self.multilabel))

    def _method(self, label_set: LabelSet) -> str:
        if self.method is None:
            preferred = [s.name for s in calibratable_methods() if s.applies_to(label_set)]
            return (preferred or temperature_methods(label_set))[0]
        if self.method not in METHODS:
            raise LabeldistError(f"unknown method {self.method!r}", f"use one of {', '.join(METHODS)}")
        if METHODS[self.method].family == "supervised" and any(
                r in ("adapted_steps", "adapted_answer") for r in METHODS[self.method].reads):
            raise LabeldistError(f"method {self.method!r} trains a LoRA adapter on the model itself",
                                 "use `labeldist run --methods sft` (or the probe / encoder methods here)")
        if not METHODS[self.method].applies_to(label_set):
            raise LabeldistError(f"method {self.method!r} does not apply to single-label sets",
                                 "choose another method, or multilabel=True")
        return self.method

    def _check_options(self) -> None:
        if self.calibrator != AUTO and self.calibrator not in CALIBRATORS:
            raise LabeldistError(f"unknown calibrator {self.calibrator!r}",
                                 f"use {AUTO!r} or one of {', '.join(CALIBRATORS)}")
        if self.thresholds is not None and self.thresholds not in OBJECTIVES:
            raise LabeldistError(f"unknown threshold objective {self.thresholds!r}",
                                 f"use None or one of {', '.join(OBJECTIVES)}")
        if isinstance(self.shots, bool) or not isinstance(self.shots, (int, np.integer)) or self.shots < 0:
            raise LabeldistError(f"shots must be a non-negative integer, got {self.shots!r}", "pass e.g. shots=4")

    @staticmethod
    def _texts(X) -> list[str]:
        if isinstance(X, str):
            raise LabeldistError("X is one string, not a sequence of texts", "pass a list (or 1-D array) of texts")
        texts = list(np.asarray(X, dtype=object).ravel()) if isinstance(X, np.ndarray) else list(X)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise LabeldistError(f"X[{bad[0]}] is a {type(texts[bad[0]]).__name__}, not a text",
                                 "pass a list (or 1-D array) of strings")
        if not texts:
            raise LabeldistError("X holds no texts", "pass at least one text")
        return texts

    def _matrix(self, y, n: int, n_labels: int, name: str) -> np.ndarray:
        a = np.asarray(y, dtype=np.float64)
        if a.ndim == 1 and n_labels == 1:
            a = a[:, None]
        if a.shape != (n, n_labels):
            raise LabeldistError(f"{name} has shape {a.shape}, expected ({n}, {n_labels}) (texts x labels)",
                                 "pass one row per text and one column per label")
        if np.any(~np.isfinite(a)) or a.min() < 0 or a.max() > 1:
            hint = ""
            if np.all(np.isfinite(a)) and np.all(a == np.round(a)) and a.max() > 1:
                hint = ("; cross_val_predict(method='predict_proba') label-encodes y: pass 0/1 y there and the "
                        "fractions as params={'human': Q}")
            raise LabeldistError(f"{name} has values outside [0, 1] (min {np.nanmin(a):g}, max {np.nanmax(a):g})"
                                 + hint, "pass annotator fractions or 0/1 labels")
        return a

    # -- model ----------------------------------------------------------------------------
    def _load_backend(self):
        b = self.backend
        if b is None:
            return _cached_backend(self.model, self.dtype, self.batch_size)
        if callable(b) and not hasattr(b, "generate"):
            b = b()
        if not hasattr(b, "generate") or not hasattr(b, "tokenizer"):
            raise LabeldistError(f"backend is a {type(b).__name__}, not a labeldist Backend",
                                 "pass backend=labeldist.load_backend(...) or a function returning one")
        return b

    def _config(self, method: str) -> RunConfig:
        prompt = PromptConfig(shots=int(self.shots), demo_sampling=self.demo_sampling, seed=int(self.seed),
                              label_format=self.label_format, chat=None if self.chat is None else bool(self.chat),
                              instruction=self.instruction,
                              max_new_tokens=int(self.max_new_tokens))
        return RunConfig(model=self.model, dtype=self.dtype, methods=(METHODS[method].group,), prompt=prompt,
                         batch_size=int(self.batch_size), supervised=self._supervised_config())

    def _supervised_config(self):
        from labeldist.runs.supervised import SupervisedConfig

        n = len(getattr(self, "_pool_for_config", ()) or ()) or 1
        return SupervisedConfig(train_n=n, dev_n=max(1, n // 5))

    def _get_classifier(self) -> Classifier:
        if getattr(self, "_classifier", None) is None:
            if getattr(self, "_backend", None) is None:
                self._backend = self._load_backend()
            # the same pool and seed give the same demos as in fit
            self._classifier = Classifier(self._backend, self.label_set_, self.config_, self.demo_pool_)
            if self._classifier.supervised is not None:  # trained in fit (or loaded from workdir_)
                self._classifier.supervised.prepare(self.workdir_, self.train_pool_, None, set())
        return self._classifier

    def _records(self, texts: Sequence[str], prefix: str):
        examples = [Example(f"{prefix}{i}", t) for i, t in enumerate(texts)]
        records, _ = run_examples(self._get_classifier(), examples, progress=bool(self.progress))
        return records

    # -- estimator API --------------------------------------------------------------------
    def fit(self, X, y, human=None) -> "LabelDistClassifier":
        """Fit the prompt's demo use, the calibrator and (optionally) thresholds on training texts.

        Parameters
        ----------
        X : sequence of str, shape (n_texts,)
        y : array-like of shape (n_texts, n_labels)
            Annotator fractions q, or 0/1 labels.
        human : array-like of shape (n_texts, n_labels), optional
            Annotator fractions to calibrate against instead of y (then y gives the gold).

        Returns
        -------
        self
        """
        self._check_options()
        label_set = self._label_set()
        method = self._method(label_set)
        texts = self._texts(X)
        n, n_labels = len(texts), label_set.n_labels
        targets = self._matrix(y if human is None else human, n, n_labels, "y" if human is None else "human")
        gold_src = self._matrix(y, n, n_labels, "y") if human is not None else targets
        soft = bool(np.any((targets != 0) & (targets != 1)))
        if label_set.multilabel:
            gold = [tuple(l for l, v in zip(label_set.labels, row) if v >= 0.5) for row in gold_src]
        else:
            gold = [(label_set.labels[int(np.argmax(row))],) for row in gold_src]
        pool = [Example(f"fit-{i}", t, gold=g, human=HumanDistribution(tuple(float(v) for v in row), None, "fractions"))
                for i, (t, g, row) in enumerate(zip(texts, gold, targets))]
        self._pool_for_config = pool
        self.label_set_, self.method_, self.config_ = label_set, method, self._config(method)
        self.classes_ = np.asarray(label_set.labels)
        self.demo_pool_ = pool if self.shots > 0 else []
        self.train_pool_ = pool
        supervised = METHODS[method].family == "supervised"
        if supervised:
            import tempfile

            self.workdir_ = self.workdir or tempfile.mkdtemp(prefix="labeldist-estimator-")
        self._backend, self._classifier = self._load_backend(), None  # parameters may have changed since a last fit
        clf = self._get_classifier()
        self.demo_ids_ = [d.id for d in clf.demos]
        shown = set(self.demo_ids_)
        idx = np.array([i for i, ex in enumerate(pool) if ex.id not in shown], dtype=int)
        if supervised:  # calibrate on the held-out share the model chose on, never on its training texts
            from labeldist.runs.supervised import fit_items

            _, dev, _, _ = fit_items(pool, None, demo_ids=shown, test_ids=set(), config=self.config_.supervised,
                                     seed=int(self.seed))
            held = {e.id for e in dev}
            idx = np.array([i for i, ex in enumerate(pool) if ex.id in held], dtype=int)
        if idx.size == 0:
            raise LabeldistError(f"all {n} training texts are demos: none is left to fit the calibrator on",
                                 "pass more texts than shots")
        records, _ = run_examples(clf, [pool[i] for i in idx], progress=bool(self.progress))
        inp = method_input(records, method, label_set)
        t = targets[idx]
        forced = None if self.calibrator == AUTO else self.calibrator
        self.calibration_ = select_calibrator(inp, t, multilabel=label_set.multilabel, labels=label_set.labels,
                                              calibrator=forced, seed=int(self.seed))
        self.thresholds_ = None
        if self.thresholds is not None:  # against the gold sets (the demos' labels), as `labeldist calibrate` does
            cal = self.calibration_.calibrator.transform(inp)
            gold01 = np.array([label_set.multi_hot(gold[i]) for i in idx], dtype=np.float64)
            self.thresholds_ = select_thresholds(cal, gold=gold01, labels=label_set.labels, method=method,
                                                 objective=self.thresholds, target=self.threshold_target,
                                                 split="fit", calibrator=self.calibration_.name)
        self.n_calibration_items_ = int(idx.size)
        where = ("held-out dev share of the supervised method's training texts" if supervised
                 else "training texts not shown as demos")
        self.fit_info_ = (f"{self.calibration_.name} calibrator ({self.calibration_.rule}) fitted on the {idx.size} "
                          f"{where} ({len(shown)} demos drawn with seed {self.seed}), against "
                          f"{'annotator fractions' if soft else '0/1 labels'}")
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated per-label probabilities, float64 of shape (n_texts, n_labels) in ``labels`` order."""
        check_is_fitted(self, "calibration_")
        records = self._records(self._texts(X), "x")
        p = self.calibration_.calibrator.transform(method_input(records, self.method_, self.label_set_))
        return np.asarray(p, dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        """0/1 label indicators, int of shape (n_texts, n_labels): the fitted thresholds, else p ≥ 0.5
        (multi-label) or the argmax (single-label)."""
        p = self.predict_proba(X)
        if self.thresholds_ is not None:
            return self.thresholds_.apply(p).astype(int)
        if self.label_set_.multilabel:
            return (np.clip(p, EPS, 1 - EPS) >= 0.5).astype(int)
        out = np.zeros_like(p, dtype=int)
        out[np.arange(len(p)), p.argmax(axis=1)] = 1
        return out

    def score(self, X, y, sample_weight=None) -> float:
        """Negative mean NLL of ``predict_proba(X)`` against y (fractions or 0/1): greater is better."""
        p = self.predict_proba(X)
        t = check_probs(y, "y", where="LabelDistClassifier.score")
        if sample_weight is None:
            return -float(nll_loss(t, p, multilabel=self.label_set_.multilabel))
        per = nll_loss(t, p, multilabel=self.label_set_.multilabel, reduce="none")
        w = np.asarray(sample_weight, dtype=np.float64)
        return -float(np.sum(w * per) / np.sum(w))


__all__ = ["LabelDistClassifier", "cleanlab_labels", "release_backends"]

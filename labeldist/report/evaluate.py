"""``evaluate_runs``: the paper's Table 2 for any set of run directories, with bootstrap intervals.

Runs are grouped by the manifest's ``dataset``; within a dataset they must share the label
set and the evaluated items (checked, with an error naming the run). Each dataset gets
every method found in its runs' records (in registry order), the two baselines of paper §A.6
and, with ``calibrate``, the Platt-scaled rows of every method the registry can calibrate; every metric of :data:`labeldist.metrics.METRICS`
whose target exists is computed with a percentile bootstrap interval, and every pair of
rows gets a paired bootstrap test on the same resamples.

Calibrated rows: a run's calibration directory (``RUN_DIR/calibration`` by default, written
by ``labeldist calibrate``) adds a ``<method> + <calibrator>`` row after each calibrated
method's raw row, scored like every other row, and a before → after table
(:mod:`labeldist.report.calibrated`); its dev records are never evaluated. ``calibrate``
(``--calibrate SPLIT``) is the paper's reference variant kept beside it: one shared Platt
(w, b) on compare-to-none's z_l − z_none, fitted at evaluation time
(:mod:`labeldist.report.calibration`).

Aggregate-only datasets: when no example has an annotator distribution (kind
``annotators`` or ``fractions``), the human-target metrics (NLL, L1, Brier) are left out
for that dataset with a note and the gold metrics are still reported; when only some
examples have one, that is an error naming the run and the first such example.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.numeric import clip_probs
from labeldist.metrics import METRICS, base_rate_baseline, uniform_baseline
from labeldist.metrics.registry import metric_scorer
from labeldist.metrics.bootstrap import iter_resample_weights, paired_test_from_values, percentile_interval
from labeldist.methods import METHODS, calibratable_methods
from labeldist.report.calibrated import calibrated_rows, ece_with_interval, exclusions, load_run_calibrations
from labeldist.report.calibration import calibrated_probs, fit_platt
from labeldist.report.load import DatasetBlock, Run, build_block, gold_mask, load_run
from labeldist.report.result import Comparison, DatasetInfo, EvaluationResult, Score

BASE_RATE = "baseline: base rate"
UNIFORM = "baseline: uniform"


def _group(runs: Sequence[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.dataset_key, []).append(r)
    return groups


def _row_names(block: DatasetBlock, multi_model: bool) -> list[str]:
    """Row name per (run, method): the method, plus the model when runs of several models are compared."""
    names = [f"{m} ({run.model})" if multi_model else m for run, m, _ in block.methods]
    counts = {n: names.count(n) for n in names}
    return [f"{m} ({run.run_dir.name})" if counts[n] > 1 else n for n, (run, m, _) in zip(names, block.methods)]


def _baselines(block: DatasetBlock, notes: list[str]) -> dict[str, np.ndarray]:
    n, n_labels = len(block.ids), block.label_set.n_labels
    out: dict[str, np.ndarray] = {}
    rates = [r.manifest.train_base_rates for r in block.runs if r.manifest.train_base_rates is not None]
    if rates:
        if len(rates[0]) != n_labels:
            raise LabeldistError(f"run {block.runs[0]}: train_base_rates has {len(rates[0])} values for {n_labels} labels",
                                 "recompute the run's manifest")
        if any(not np.allclose(r, rates[0]) for r in rates[1:]):
            notes.append(f"{block.name}: runs disagree on train_base_rates; the first run's are used")
        out[BASE_RATE] = base_rate_baseline(rates[0], n)
    else:
        notes.append(f"{block.name}: no train_base_rates in the run manifests; the base-rate baseline is omitted")
    out[UNIFORM] = uniform_baseline(n, n_labels, multilabel=block.label_set.multilabel)
    return out


def _calibrated(block: DatasetBlock, names: list[str], calibrate: str, calibration: list[dict],
                notes: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    specs = [s for s in calibratable_methods() if s.applies_to(block.label_set)]
    if not specs:
        names_ = ", ".join(s.name for s in calibratable_methods())
        notes.append(f"{block.name}: single-label, so {names_} (and its calibration) does not apply")
        return out
    for (run, m, raw), name in zip(block.methods, names):
        spec = METHODS.get(m)
        if spec not in specs:
            continue
        scaler, info = fit_platt(spec, run, calibrate)
        probs, n_fallback = calibrated_probs(spec, run, block.records[str(run.run_dir)], scaler, raw)
        info["n_eval_no_steps"] = n_fallback
        calibration.append(info)
        out[f"{name} + Platt ({calibrate})"] = probs
        if n_fallback:
            notes.append(f"{block.name}: {n_fallback} of {len(block.ids)} examples of run {run} have no label step; "
                         f"calibrated {m} keeps their stored (fallback) probabilities")
        if info["n_skipped_no_steps"]:
            notes.append(f"{block.name}: {info['n_skipped_no_steps']} {calibrate} examples of run {run} had no label "
                         "step and were left out of the Platt fit")
    if not out:
        notes.append(f"{block.name}: no run has {' or '.join(s.name for s in specs)} probabilities; nothing to calibrate")
    return out


def _per_label_rows(info: DatasetInfo, targets: dict, rows: dict[str, np.ndarray]) -> list[dict]:
    out = []
    human, gold = targets.get("human"), targets.get("gold")
    keep = targets.get("gold_mask", slice(None))
    per = {}
    for row, p in rows.items():
        if gold is not None:
            per[row] = {k: METRICS[k].func(gold[keep], p[keep], multilabel=info.multilabel, reduce="none")
                        for k in ("macro_f1", "ece", "roc_auc", "average_precision")}
        for j, label in enumerate(info.labels):
            d = {"dataset": info.name, "method": row, "label": label, "mean_pred": float(p[:, j].mean())}
            if human is not None:
                d["mean_human"] = float(human[:, j].mean())
                d["l1"] = float(np.abs(clip_probs(p[:, j]) - human[:, j]).mean())
            if gold is not None:
                d["gold_rate"] = float(gold[keep][:, j].mean())
                d.update({("f1" if k == "macro_f1" else k): float(v[j]) for k, v in per[row].items()})
            out.append(d)
    return out


def _score_block(info: DatasetInfo, targets: dict, rows: dict[str, np.ndarray], *, n_boot: int, seed: int,
                 confidence: float, threshold: float | None = None) -> tuple[list[Score], list[Comparison]]:
    metrics = [m for m in METRICS if targets.get(METRICS[m].target) is not None]
    n = info.n_examples
    ones = np.ones((1, n))
    scorers = {(r, m): metric_scorer(m, targets[METRICS[m].target], p, multilabel=info.multilabel, threshold=threshold)
               for r, p in rows.items() for m in metrics}
    mask = targets.get("gold_mask")
    if mask is not None:  # examples without an aggregate label weigh 0 in gold-based metrics
        scorers = {(r, m): (lambda w, f=f: f(w * mask)) if METRICS[m].target == "gold" else f
                   for (r, m), f in scorers.items()}
    est = {key: float(score(ones)[0]) for key, score in scorers.items()}
    boot = {key: np.empty(n_boot) for key in est}
    for sl, w in iter_resample_weights(n, n_boot=n_boot, seed=seed):  # same resamples for every row and metric
        for key, score in scorers.items():
            boot[key][sl] = score(w)
    scores = []
    for (r, m), value in est.items():
        excluded = None
        if METRICS[m].level == "label":
            keep = mask if (mask is not None and METRICS[m].target == "gold") else slice(None)
            per_label = METRICS[m].func(targets[METRICS[m].target][keep], rows[r][keep], multilabel=info.multilabel,
                                        reduce="none")  # label-level metrics take no threshold
            excluded = int(np.isnan(per_label).sum())
        iv = percentile_interval(value, boot[r, m], confidence=confidence)
        scores.append(Score(info.name, r, m, iv.estimate, iv.low, iv.high, n, excluded))
    comparisons = []
    for m in metrics:
        for a, b in itertools.combinations(rows, 2):
            t = paired_test_from_values(est[a, m], est[b, m], boot[a, m], boot[b, m], confidence=confidence)
            comparisons.append(Comparison(info.name, m, a, b, t.mean_diff, t.low, t.high, t.p_value))
    return scores, comparisons


def _effects(info: DatasetInfo, targets: dict, rows: dict[str, np.ndarray], scores: list[Score], cal_infos: list[dict],
             *, n_boot: int, seed: int, confidence: float) -> list[dict]:
    """The before → after entries of one dataset's calibrated rows (module docstring of report.calibrated)."""
    kind = "human" if targets.get("human") is not None else "gold"
    target = targets[kind]
    mask = targets.get("gold_mask") if kind == "gold" else None
    by_key = {(sc.method, sc.metric): sc for sc in scores}
    out = []
    for d in cal_infos:
        e = {**d, "ece_target": kind}
        for tag, row in (("before", d["row"]), ("after", d["calibrated_row"])):
            for m in ("nll", "l1"):
                sc = by_key.get((row, m))
                e[f"{m}_{tag}"] = None if sc is None else [sc.value, sc.low, sc.high]
            iv = ece_with_interval(target, rows[row], mask=mask, n_boot=n_boot, seed=seed, confidence=confidence)
            e[f"ece_{tag}"] = [iv.estimate, iv.low, iv.high]
        out.append(e)
    return out


def evaluate_runs(run_dirs: Sequence[str | Path], *, seed: int = 0, n_boot: int = 1000, calibrate: str | None = None,
                  split: str | None = None, confidence: float = 0.95, threshold: float | None = None,
                  calibration="auto") -> EvaluationResult:
    """Score every method of every run against human distributions and gold labels.

    Parameters
    ----------
    run_dirs : sequence of path
        Run directories written by ``labeldist run``. Runs of the same dataset (manifest
        ``dataset``) become rows of one column group and must share label set and items.
    seed : int, default=0
        Seed of the bootstrap resamples (the same resamples for every row and metric).
    n_boot : int, default=1000
        Bootstrap resamples.
    calibrate : str, optional
        A split name (``"dev"``): fit Platt scaling for compare-to-none on each run's records
        of that split, add the calibrated rows, and evaluate only records of other splits.
    split : str, optional
        Evaluate only records of this split (default: all records not used for calibration).
    confidence : float, default=0.95
    threshold : float, optional
        The global threshold ``t`` of micro-F1@t and Hamming loss (default 0.2, Praharaj &
        Kasundra's); fixed, never chosen on the evaluated labels.
    calibration : "auto", path or None, default="auto"
        ``"auto"``: each run's ``RUN_DIR/calibration`` where it exists; a path: that
        calibration directory for every run (fitted on their label set); None: no
        calibrated rows. Their dev records are left out of the evaluation.
    calibration : "auto", path or None, default="auto"
        ``"auto"``: each run's ``RUN_DIR/calibration`` where it exists; a path: that
        calibration directory for every run (fitted on their label set); None: no
        calibrated rows. Their dev records are left out of the evaluation.

    Returns
    -------
    EvaluationResult
    """
    if not run_dirs:
        raise LabeldistError("no run directories given", "pass at least one directory written by `labeldist run`")
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise LabeldistError(f"--threshold must be between 0 and 1, got {threshold}", "use e.g. --threshold 0.2")
    if calibrate is not None and split == calibrate:
        raise LabeldistError(f"cannot evaluate on the calibration split {split!r}", "pick another --split")
    paths = [Path(d) for d in run_dirs]
    if len({p.resolve() for p in paths}) != len(paths):
        raise LabeldistError("the same run directory was given twice", "pass each run once")
    runs = [load_run(p) for p in paths]
    cals = load_run_calibrations(runs, calibration)
    multi_model = len({r.model for r in runs}) > 1
    notes: list[str] = []
    datasets, scores, comparisons, per_label, platt, blocks, effects = [], [], [], [], [], [], []
    row_order = [BASE_RATE, UNIFORM]
    names_seen = set()
    for group in _group(runs).values():
        ex_splits, ex_ids = exclusions(group, cals)
        if calibrate is not None:
            ex_splits.add(calibrate)
        if split is not None and split in ex_splits:
            raise LabeldistError(f"cannot evaluate on split {split!r}: a calibration was fitted on it",
                                 "pick another --split, or pass --no-calibration")
        block = build_block(group, split=split, exclude=ex_splits or None, exclude_ids=ex_ids)
        if block.name in names_seen:
            block.name = block.key  # two dataset files with the same stem
        names_seen.add(block.name)
        names = _row_names(block, multi_model)
        rows = _baselines(block, notes)
        cal_rows, cal_infos = calibrated_rows(block, names, cals, notes) if cals else ({}, [])
        for name, (_, _, p) in zip(names, block.methods):
            rows[name] = p
            if name in cal_rows:  # the calibrated row right after its raw row
                rows[cal_rows[name][0]] = cal_rows[name][1]
        for run in group:
            cal = cals.get(str(run.run_dir))
            if cal is not None:
                n_out = sum(r.split in cal.exclude_splits or r.id in cal.exclude_ids for r in run.records)
                notes.append(f"{block.name}: calibration {cal.describe()}; its {n_out} dev records in run {run} are "
                             "not evaluated")
        if calibrate is not None:
            rows.update(_calibrated(block, names, calibrate, platt, notes))
        row_order += [r for r in rows if r not in row_order]
        targets = {"human": block.human, "gold": block.gold}
        mask = gold_mask(block.records[str(group[0].run_dir)])
        if block.gold is not None and not mask.all():
            targets["gold_mask"] = mask
            notes.append(f"{block.name}: {int((~mask).sum())} of {len(mask)} examples have no aggregate label "
                         f"(annotator plurality tie); F1, Jaccard, ECE, ROC-AUC and AP use the other {int(mask.sum())}")
        if block.human is None:
            notes.append(f"{block.name}: no example has an annotator distribution (aggregate labels only), "
                         "so NLL, L1 and Brier are not reported")
        if block.gold is None:
            notes.append(f"{block.name}: no example has gold labels, so F1, Jaccard, ECE, ROC-AUC and AP are not reported")
        info = DatasetInfo(block.name, block.key, block.label_set.labels, block.label_set.multilabel, len(block.ids),
                           tuple(str(r.run_dir) for r in group), tuple(dict.fromkeys(r.model for r in group)),
                           block.human is not None, block.gold is not None,
                           tuple(m for m in METRICS if targets[METRICS[m].target] is not None))
        s, c = _score_block(info, targets, rows, n_boot=n_boot, seed=seed, confidence=confidence, threshold=threshold)
        if cal_infos and (block.human is not None or block.gold is not None):
            effects += _effects(info, targets, rows, s, cal_infos, n_boot=n_boot, seed=seed, confidence=confidence)
        if block.gold is not None:
            single = [l for l, col in zip(info.labels, block.gold[mask].T) if col.min() == col.max()]
            if single:
                notes.append(f"{info.name}: ROC-AUC and AP leave out {len(single)} of {len(info.labels)} labels with a "
                             f"single gold class ({', '.join(single)}): NaN per label, not averaged")
        datasets.append(info)
        scores += s
        comparisons += c
        per_label += _per_label_rows(info, targets, rows)
        blocks.append((info, targets, rows))
    t = METRICS["micro_f1@t"].threshold if threshold is None else threshold
    notes.append(f"micro-F1@t and Hamming loss threshold every label at t = {t:g} (fixed, not tuned on these labels); "
                 "micro-AUC pools all (example, label) cells")
    notes = list(dict.fromkeys(notes))
    return EvaluationResult(datasets, [r for r in row_order if any(s.method == r for s in scores)], scores,
                            comparisons, per_label, platt, notes, seed, n_boot, confidence, calibrate, split,
                            blocks, calibration_effects=effects)


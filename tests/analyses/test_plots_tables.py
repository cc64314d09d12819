"""Figures are written as non-empty PNGs; tables as Markdown and CSV."""

import csv

import numpy as np
import pytest

from labeldist.analyses import (
    analyze_steps,
    annotation_agreement,
    first_step_spikiness,
    markdown_table,
    order_accuracy,
    write_table,
)
from labeldist.analyses.plots import plot_multilabel_rate, plot_order_accuracy, plot_spikiness, plot_step_distributions
from labeldist.analyses.tables import agreement_row, order_accuracy_rows, step_summary_rows
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval
from labeldist.records import LabelSet
from tests.analyses.helpers import trace

PNG = b"\x89PNG\r\n\x1a\n"


def _traces(n=12, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = 1 + i % 3
        probs = rng.dirichlet(np.ones(4) * 0.3, size=k)
        out.append(trace(f"e{i}", probs, ("a", "b", "c")[:k], gold=("a",)))
    return out


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 2000


def test_step_violins_for_top_and_entropy(tmp_path):
    rows = analyze_steps(_traces()).rows
    assert _is_png(plot_step_distributions(rows, tmp_path / "top.png"))
    assert _is_png(plot_step_distributions(rows, tmp_path / "sub" / "ent.png", value="entropy_bits", max_step=2))
    # constant groups (no spread for a violin) still plot as boxes
    const = analyze_steps([trace(f"c{i}", [[1.0, 0, 0, 0]], ("a",)) for i in range(3)]).rows
    assert _is_png(plot_step_distributions(const, tmp_path / "const.png"))
    with pytest.raises(LabeldistError):
        plot_step_distributions(rows, tmp_path / "x.png", value="nope")


def test_spikiness_order_and_rate_plots(tmp_path):
    sp = first_step_spikiness(_traces())
    assert _is_png(plot_spikiness({"A": sp, "B": first_step_spikiness(_traces(seed=1))}, tmp_path / "s.png"))
    ivs = {1: Interval(0.8, 0.7, 0.9), 2: Interval(0.5, 0.3, 0.6)}
    assert _is_png(plot_order_accuracy({"m1": ivs, "m2": {1: Interval(0.7, 0.6, 0.8)}}, tmp_path / "o.png"))
    rates = {0.0: Interval(0.1, 0.05, 0.2), 0.5: Interval(0.4, 0.3, 0.5), 1.0: Interval(0.9, float("nan"), float("nan"))}
    assert _is_png(plot_multilabel_rate({"ds / model": rates}, tmp_path / "r.png"))
    with pytest.raises(LabeldistError):
        plot_order_accuracy({}, tmp_path / "e.png")


def test_write_table_markdown_and_csv(tmp_path):
    rows = [{"name": "a|b", "value": 0.123456, "ci": Interval(0.5, 0.4, 0.6), "n": 3, "none": None},
            {"name": "c", "value": float("nan"), "ci": Interval(0.1, 0.0, 0.2), "n": 4, "none": None}]
    md, cs = write_table(rows, tmp_path / "t.md", title="T")
    text = md.read_text()
    assert text.startswith("# T\n") and "| a\\|b | 0.123 | 0.500 [0.400, 0.600] | 3 | — |" in text and "n/a" in text
    with cs.open() as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == ["name", "value", "ci", "ci_low", "ci_high", "n", "none"]
    assert float(got[0]["value"]) == 0.123456 and float(got[1]["ci_high"]) == 0.2
    with pytest.raises(LabeldistError):
        markdown_table([])


def test_row_builders(tmp_path):
    a = analyze_steps(_traces())
    rows = step_summary_rows(a.summary)
    assert rows[0]["step"] == "all" and {r["position"] for r in rows} == {"last", "intermediate"}
    inter = [r for r in rows if r["position"] == "intermediate" and r["step"] == "all"][0]
    assert inter["2nd-ranked is next"] == a.summary.second_next_rate
    acc = order_accuracy(_traces(), min_count=0)
    assert [r["rank"] for r in order_accuracy_rows(acc)] == [1, 2, 3]
    stats = annotation_agreement([(("a",), ("a", "b")), (("b",), ())], LabelSet(("a", "b")))
    row = agreement_row("toy", stats)
    # item 1: a 2/2, b 1/2 (ties count) -> 2 labels; item 2: b 1/2 -> 1 label
    assert row["annotators/item (min/mean/max)"] == "2/2.00/2" and row["1 labels"] == row["2 labels"] == 0.5
    md, _ = write_table([row], tmp_path / "table1")
    assert "toy" in md.read_text()

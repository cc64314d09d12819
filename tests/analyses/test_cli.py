"""`labeldist analyze`, `labeldist sweep`, `run --demo-ratio` and `datasets --stats` on small hand-built runs."""

import csv
import json

import numpy as np
import pytest

from labeldist.cli.main import main
from labeldist.records import StepAttention
from labeldist.runs.store import iter_records, read_manifest
from tests.analyses.run_helpers import example, write_run


def _main_records():
    """Hand-computed: top-1 at step 1 = (.7+.6+.5+.6)/4 = 0.6; 2nd-ranked is next at 2 of 3 intermediate steps
    (e1: b then b, e3: c then c, e4: b then c); never predicted 1 of 1 (e4's b); acc_1 = 2/3, acc_2 = 1/3;
    multi-label outputs 3 of 4; example-F1 2/3 for every example."""
    return [
        example("e1", [([.7, .2, .05, .05], "a"), ([.1, .8, .05, .05], "b")], ["a", "b"], gold=["a"]),
        example("e2", [([.6, .3, .05, .05], "a")], ["a"], gold=["a", "b"]),
        example("e3", [([.5, .1, .3, .1], "a"), ([.2, .1, .6, .1], "c")], ["a", "c"], gold=["c"]),
        example("e4", [([.6, .3, .05, .05], "a"), ([.1, .1, .7, .1], "c")], ["a", "c"], gold=["a"]),
    ]


def _reverse_records():
    """Prompt order c, b, a: both two-label outputs follow it; e3 now answers c alone (F1 1)."""
    return [
        example("e1", [([.1, .8, .05, .05], "b"), ([.7, .2, .05, .05], "a")], ["b", "a"], gold=["a"]),
        example("e2", [([.6, .3, .05, .05], "a")], ["a"], gold=["a", "b"]),
        example("e3", [([.1, .1, .7, .1], "c")], ["c"], gold=["c"]),
        example("e4", [([.1, .1, .7, .1], "c"), ([.6, .3, .05, .05], "a")], ["c", "a"], gold=["a"]),
    ]


def _rate_records(n_multi, n=4):
    """``n_multi`` of ``n`` outputs with two labels."""
    return [example(f"f{i}", [([.7, .2, .05, .05], "a")] + ([([.1, .8, .05, .05], "b")] if i < n_multi else []),
                    ["a", "b"] if i < n_multi else ["a"], gold=["a"]) for i in range(n)]


def _spiky_records():
    return [example(f"e{i}", [([.9, .05, .03, .02], "a")], ["a"], gold=["a"]) for i in range(1, 5)]


def _attention_records():
    att = lambda inp, lab: StepAttention(1, 3, 100, inp, 1 - inp, lab, lab, 100, 3, 1, 2)  # noqa: E731
    return [example(f"g{i}", [([.7, .2, .05, .05], "a"), ([.1, .8, .05, .05], "b")], ["a", "b"], gold=["a"],
                    attention=[att(inp, lab)]) for i, (inp, lab) in enumerate([(.8, .05), (.7, .1)])]


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    dirs = [write_run(root / "main", _main_records(), n_parameters=100_000_000),
            write_run(root / "reverse", _reverse_records(), order_kind="reverse"),
            *(write_run(root / f"ratio-{r:g}", _rate_records(k), ratio=r) for r, k in ((0.0, 0), (0.4, 2), (1.0, 4))),
            write_run(root / "attention", _attention_records()),
            write_run(root / "big", _spiky_records(), model="m2", n_parameters=200_000_000)]
    out = root / "analysis"
    assert main(["analyze", *map(str, dirs), "--out", str(out), "--n-boot", "100", "--min-count", "0"]) == 0
    return out


def test_confidence_and_order_tables_hold_the_hand_computed_values(analysed, capsys):
    conf = {r["run"]: r for r in _csv(analysed / "tables" / "confidence.csv")}
    main_row = conf["main"]
    assert float(main_row["top-1 @ step 1"]) == pytest.approx(0.6)
    assert float(main_row["2nd-ranked is next"]) == pytest.approx(2 / 3)
    assert float(main_row["never predicted"]) == pytest.approx(1.0)
    assert float(main_row["top-1 last"]) == pytest.approx((.8 + .6 + .6 + .7) / 4)
    assert float(main_row["top-1 intermediate"]) == pytest.approx(0.6)
    acc = {(r["run"], r["rank"]): r for r in _csv(analysed / "tables" / "order_accuracy.csv")}
    assert float(acc[("main", "1")]["share of r-th labels in gold"]) == pytest.approx(2 / 3)
    assert float(acc[("main", "2")]["share of r-th labels in gold"]) == pytest.approx(1 / 3)
    assert acc[("main", "3")]["examples"] == "0"
    # the reverse-order run on the same items: its first labels (b, c) are never gold, its second (a) always
    assert float(acc[("reverse", "1")]["share of r-th labels in gold"]) == 0.0
    assert float(acc[("reverse", "2")]["share of r-th labels in gold"]) == 1.0
    rates = {r["run"]: r for r in _csv(analysed / "tables" / "multilabel_rate.csv")}
    assert float(rates["main"]["multi-label outputs (reference rule)"]) == pytest.approx(0.75)
    assert float(rates["ratio-0.4"]["multi-label demo share"]) == 0.4
    for fig in ("order_accuracy", "multilabel_rate", "scale", "spikiness_toy", "steps/main_top1", "steps/main_second",
                "steps/main_entropy"):
        assert (analysed / "figures" / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_label_order_table_compares_with_the_canonical_run_on_the_same_items(analysed):
    rows = {r["label order"]: r for r in _csv(analysed / "tables" / "label_order.csv")}
    rev, canon = rows["reverse"], rows["canonical"]
    assert rev["prompt order"] == "c, b, a" and rev["outputs with >= 2 labels"] == "2"
    assert float(rev["in prompt order (%)"]) == 100.0 and float(rev["in label-set order (%)"]) == 0.0
    assert float(rev["in alphabetical order (%)"]) == 0.0 and float(canon["in prompt order (%)"]) == 100.0
    assert float(canon["example-F1"]) == pytest.approx(2 / 3)
    assert float(rev["example-F1"]) == pytest.approx((2 / 3 * 3 + 1) / 4)
    assert float(rev["ΔF1 vs canonical"]) == pytest.approx(1 / 12)
    assert canon["ΔF1 vs canonical"] == "" and float(rev["chance (%)"]) == 50.0


def test_findings_cover_the_paper_the_sweep_attention_and_scale(analysed):
    rows = _csv(analysed / "findings.csv")
    by = {}
    for r in rows:
        by.setdefault(r["finding"], []).append(r)
    first = next(r for r in by["First-step label distributions are spiky (top label near 1)"] if r["model"] == "m1")
    assert float(first["value [95% CI]"]) == pytest.approx(0.6) and first["verdict"] == "does not hold"
    slope = by["The multi-label output rate rises with the share of multi-label demos"][0]
    assert float(slope["value [95% CI]"]) == pytest.approx(np.polyfit([0, 0.4, 1], [0, 0.5, 1], 1)[0])
    follows = by["Generated labels follow the instruction's label order"]
    assert {r["run"] for r in follows} == {"main", "reverse", "big"}
    assert {r["model"] for r in follows} == {"m1", "m1 (reverse label order)", "m2"}
    att = by["The input still receives most of the attention in total"][0]
    assert att["run"] == "attention" and float(att["value [95% CI]"]) == pytest.approx(0.75)
    assert att["verdict"] == "holds"
    ratio = by["Later labels attend more, per token, to earlier label tokens than to the input"][0]
    assert float(ratio["value [95% CI]"]) == pytest.approx(0.075 / (0.75 / 100))
    scale = by["Larger models have spikier first-step distributions"][0]
    assert scale["model"] == "m1 → m2" and float(scale["value [95% CI]"]) == pytest.approx(0.9 - 0.6)
    never = next(r for r in by["A second-highest label not generated next is mostly never generated"]
                 if r["model"] == "m2")
    assert never["verdict"] == "no data"  # m2 never wrote a second label
    readme = (analysed / "README.md").read_text()
    assert "## Findings" in readme and "![" in readme and "tables/label_order.md" in readme


def test_attention_and_scale_tables(analysed):
    att = _csv(analysed / "tables" / "attention.csv")[0]
    assert float(att["mass % input"]) == pytest.approx(75.0) and float(att["per token % labels"]) == pytest.approx(7.5)
    scale = _csv(analysed / "tables" / "scale.csv")
    assert [r["model"] for r in scale] == ["m1", "m2"] and [r["parameters"] for r in scale] == ["100M", "200M"]
    assert float(scale[1]["top-1 @ step 1"]) == pytest.approx(0.9)


def test_one_run_writes_into_its_analysis_folder_and_remove_none_is_counted(tmp_path, capsys):
    recs = _main_records() + [example("e5", [([.6, .3, .05, .05], "a"), ([.1, .1, .1, .7], "none")], ["a"],
                                      gold=["a"])]
    d = write_run(tmp_path / "r", recs)
    assert main(["analyze", str(d), "--n-boot", "20", "--remove-none"]) == 0
    out = capsys.readouterr().out
    assert "Per-step confidence" in out and "## Findings" in out and "wrote" in out
    row = _csv(d / "analysis" / "tables" / "confidence.csv")[0]
    assert row["cut at none"] == "1" and row["label steps"] == "8"  # e5 stops at its none step


def test_analyze_of_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "is not a labeldist run (no manifest.json)" in capsys.readouterr().err


# ---------------------------------------------------------------- sweep and --demo-ratio on the tiny model

ROWS = [("t1", "I won the lottery, amazing!", [["joy"], ["joy", "surprise"]], "test"),
        ("t2", "This is outrageous, I'm so mad.", [["anger"], ["anger"]], "test"),
        ("t3", "Wow, I did not see that coming.", [["surprise"], ["surprise", "joy"]], "test"),
        ("r1", "What a beautiful morning.", [["joy"], ["joy"]], "train"),
        ("r2", "You scared me half to death!", [["surprise", "anger"], ["surprise", "anger"]], "train"),
        ("r3", "I can't believe you did that.", [["anger"], ["anger"]], "train"),
        ("r4", "Best birthday ever, thank you!", [["joy", "surprise"], ["joy", "surprise"]], "train"),
        ("r5", "Get out of my house.", [["anger"], ["anger"]], "train"),
        ("r6", "Oh! A party for me?", [["joy", "surprise"], ["joy", "surprise"]], "train"),
        ("r7", "Lovely weather for a walk.", [["joy"], ["joy"]], "train"),
        ("r8", "That is infuriating.", [["anger"], ["anger"]], "train")]
MULTI_DEMOS = {"r2", "r4", "r6"}


@pytest.fixture
def data_file(tmp_path, monkeypatch, tiny_backend):
    from labeldist import api

    monkeypatch.setattr(api, "load_backend", lambda *a, **k: tiny_backend)
    p = tmp_path / "emo.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t, "annotations": a, "split": s}) + "\n" for i, t, a, s in ROWS))
    return p


def _args(data, out, *extra):
    return ["--data", str(data), "--labels", "joy,anger,surprise", "--model", "tiny", "--shots", "4", "--out", str(out),
            "--quiet", "--batch-size", "3", "--max-new-tokens", "8", *extra]


def test_sweep_makes_one_run_per_demo_share_and_analyses_them(data_file, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", *_args(data_file, out), "--demo-ratios", "0,0.5,1", "--n-boot", "20"]) == 0
    printed = capsys.readouterr().out
    assert "ratio 0.5:" in printed and "Multi-label output rate" in printed
    for ratio, n_multi in ((0.0, 0), (0.5, 2), (1.0, 3)):  # floor(4 x share), at most the 3 multi-label demos
        m = read_manifest(out / f"ratio-{ratio:g}")
        assert m.config["run"]["prompt"]["demo_ratio"] == ratio
        assert len(set(m.prompt.demos) & MULTI_DEMOS) == n_multi and len(m.prompt.demos) == 4
        assert sorted(r.id for r in iter_records(out / f"ratio-{ratio:g}")) == ["t1", "t2", "t3"]
    assert (out / "analysis" / "figures" / "multilabel_rate.png").is_file()
    findings = _csv(out / "analysis" / "findings.csv")
    assert any(r["finding"].startswith("The multi-label output rate rises") for r in findings)


def test_sweep_and_demo_ratio_refuse_what_they_cannot_do(data_file, tmp_path, capsys):
    assert main(["sweep", *_args(data_file, tmp_path / "s"), "--demo-ratios", "0.5"]) == 2
    assert "must list two or more distinct shares in [0, 1]" in capsys.readouterr().err
    assert main(["sweep", *_args(data_file, tmp_path / "s"), "--demo-ratios", "0,1", "--demo-sampling", "uniform"]) == 2
    assert "ignores the multi-label demo share" in capsys.readouterr().err
    assert main(["run", *_args(data_file, tmp_path / "r"), "--demo-ratio", "1.5"]) == 2
    assert "--demo-ratio must be in [0, 1], got 1.5" in capsys.readouterr().err
    assert main(["run", *_args(data_file, tmp_path / "r"), "--demo-ratio", "0.5", "--demo-sampling", "random"]) == 2
    assert "which --demo-sampling random ignores" in capsys.readouterr().err
    assert main(["run", *_args(data_file, tmp_path / "r"), "--attention", "--backend", "http",
                 "--base-url", "http://127.0.0.1:9"]) == 2
    assert "--attention needs the model's attention weights" in capsys.readouterr().err


def test_run_demo_ratio_reaches_the_demo_sampling(data_file, tmp_path):
    out = tmp_path / "r"
    assert main(["run", *_args(data_file, out), "--demo-ratio", "0.25"]) == 0
    m = read_manifest(out)
    assert m.config["run"]["prompt"]["demo_ratio"] == 0.25 and len(set(m.prompt.demos) & MULTI_DEMOS) == 1


def test_datasets_stats_prints_table_1(capsys, tmp_path):
    from tests.data.conftest import FIXTURES

    assert main(["datasets", "--stats", "mfrc", "goemotions", "--root", str(FIXTURES),
                 "--stats-out", str(tmp_path / "t1")]) == 0
    out = capsys.readouterr().out
    assert "| mfrc |" in out and "| goemotions |" in out and "annotators/item (min/mean/max)" in out
    rows = {r["dataset"]: r for r in _csv(tmp_path / "t1.csv")}
    assert rows["mfrc"]["annotators/item (min/mean/max)"] == "1/2.40/3"
    assert rows["goemotions"]["aggregate"].startswith("gold")

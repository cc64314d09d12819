"""`labeldist report`: every section is on the page, the best cell is the evaluation's best, images are
embedded PNGs, and bad inputs (incomplete, older layout, other version, other label set, unreadable) say so."""

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from labeldist.cli.main import main
from labeldist.errors import LabeldistError
from labeldist.metrics import TABLE2_METRICS
from labeldist.records import Manifest
from labeldist.report import evaluate_runs
from labeldist.report.html import build_report, natural_key, write_report
from labeldist.report.html_parts import PNG_MAGIC, markdown_to_html
from tests.report.helpers import Page, make_run, png_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v1"


def decoded_pngs(page: Page) -> list[bytes]:
    out = []
    for img in page.imgs:
        head, _, data = img["src"].partition(",")
        assert head == "data:image/png;base64", img["src"][:40]
        out.append(base64.b64decode(data, validate=True))
    return out


def test_one_run_has_every_section_and_marks_the_evaluation_best(tmp_path):
    run = make_run(tmp_path / "a", texts=["<script>alert(1)</script> & more"])
    rep = build_report([run], n_boot=40, n_examples=3)
    page = Page(rep.html)
    assert page.headings["h3"] == ["Distribution alignment (Table 2)", "Provenance", "Run summary", "Example items"]
    assert page.headings["h2"] == ["toy: [joy, anger, fear] (multi-label)"]  # one section: no overview
    assert page.scripts == 0 and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in rep.html
    assert "Content-Security-Policy" in rep.html and "default-src 'none'" in rep.html
    assert not [l for l in page.links if not l.startswith("#")]  # nothing outside the page
    # images: the reliability diagram and per-label bars, both real PNGs
    pngs = decoded_pngs(page)
    assert len(pngs) == 2 == rep.n_images and all(p[:8] == PNG_MAGIC for p in pngs)
    # the bold cells of Table 2 are the evaluation's best values (same seed and resamples)
    res = evaluate_runs([run], n_boot=40)
    expected = []
    for m in TABLE2_METRICS:
        vals = [s for s in res.scores if s.metric == m]
        best = (max if m == "example_f1" else min)(s.value for s in vals)
        expected += [f"{s.value:.3f} [{s.low:.3f}, {s.high:.3f}]" for s in vals if s.value == best]
    table2_best = page.best_cells[:len(expected)]
    assert table2_best == expected
    assert "scores" in page.tables and "kv" in page.tables and page.tables.count("probs") == 3
    # provenance and summary
    for text in ("run directory", "model", "fake", "random streams", "package versions", "record layout",
                 "no-label fallback (uniform), examples per method", "seconds per item", "generation: per item"):
        assert text in rep.html, text
    assert f"{2.5 / 16:.3f}" in rep.html  # seconds per item from the summary


def test_examples_are_the_first_n_by_natural_id_with_every_method(tmp_path):
    run = make_run(tmp_path / "a", n=12, no_steps=(1,))
    html = build_report([run], n_boot=20, n_examples=3).html
    assert all(f"<strong>ex{i}</strong>" in html for i in range(3)) and "<strong>ex3</strong>" not in html
    assert "<strong>ex10</strong>" not in html  # natural order: ex0, ex1, ex2 (not ex0, ex1, ex10)
    assert sorted(["ex10", "ex2", "ex1"], key=natural_key) == ["ex1", "ex2", "ex10"]
    from labeldist.runs.store import iter_records

    rec = next(iter_records(run))
    for m, p in rec.methods.items():
        assert f"<tr><th>{m}" in html and f"{p[0]:.3f}" in html
    assert "human q (4 annotators)" in html
    # ex1 has no label step: its step-reading methods are marked as fallbacks, ex0's are not
    ex0, ex1 = html.split("<strong>ex1</strong>")
    ex0 = ex0.split("<strong>ex0</strong>")[1]
    ex1 = ex1.split("<strong>ex2</strong>")[0]
    n_fallback = len([m for m, d in next(r for r in iter_records(run) if r.id == "ex1").method_diagnostics.items()
                      if d.fallback])
    assert "(fallback)" not in ex0 and ex1.count("(fallback)") == n_fallback > 0


def test_comparison_of_two_models_is_one_section_with_both_runs(tmp_path):
    a = make_run(tmp_path / "a", model="m1")
    b = make_run(tmp_path / "b", model="m2", seed=1)
    rep = build_report([a, b], n_boot=20, n_examples=1)
    page = Page(rep.html)
    assert rep.n_sections == 1 and len(page.headings["h2"]) == 1
    assert "(m1)" in rep.html and "(m2)" in rep.html  # evaluation rows carry the model
    assert f"· {b.name}" in rep.html  # example rows name the run


def test_analysis_and_calibration_outputs_are_embedded(tmp_path):
    from labeldist.calibration._common import FitInfo
    from labeldist.calibration.calibrators import CALIBRATORS
    from labeldist.calibration.selection import CalibrationSelection
    from labeldist.calibration.storage import save_calibration
    from labeldist.methods import METHODS
    from labeldist.records import LabelSet

    run = make_run(tmp_path / "a")
    (run / "analysis" / "steps").mkdir(parents=True)
    (run / "analysis" / "steps" / "violin.png").write_bytes(png_bytes())
    (run / "analysis" / "order.png").write_bytes(png_bytes())
    (run / "analysis" / "summary.md").write_text("# Order accuracy\n\n| step | accuracy |\n|---|---:|\n"
                                                 "| 1 | **0.750** [0.5, 0.9] |\n| a \\| b | 0.5 |\n")
    (run / "analysis" / "broken.png").write_text("not a png")
    ls = LabelSet(("joy", "anger", "fear"))
    rng = np.random.default_rng(0)
    x, q = rng.uniform(0.05, 0.95, (30, 3)), rng.integers(0, 5, (30, 3)) / 4
    method = next(iter(METHODS))
    cal = CALIBRATORS["platt"]().fit(x, q)
    sel = CalibrationSelection("platt", cal, {"identity": 0.71, "platt": 0.65}, "lowest CV NLL")
    save_calibration(run / "calibration", ls, {method: sel}, FitInfo("dev", 30))
    (run / "calibration" / "reliability.png").write_bytes(png_bytes())
    rep = build_report([run], n_boot=20)
    page = Page(rep.html)
    assert len(decoded_pngs(page)) == 2 + 3 == rep.n_images  # evaluation figures + 3 real PNGs
    alts = [i["alt"] for i in page.imgs]
    assert {"steps/violin.png", "order.png", "reliability.png"} <= set(alts)
    assert "Order accuracy" in rep.html and "<td class=\"num\"><strong>0.750</strong> [0.5, 0.9]</td>" in rep.html
    assert "<td>a | b</td>" in rep.html
    assert f"<td>{method}</td><td>platt</td>" in rep.html and "<strong>platt 0.6500</strong>" in rep.html
    assert "broken.png is named .png but is not a PNG image" in page.box_text("warning")


def test_calibration_of_another_label_set_is_flagged(tmp_path):
    from labeldist.calibration._common import FitInfo
    from labeldist.calibration.calibrators import CALIBRATORS
    from labeldist.calibration.selection import CalibrationSelection
    from labeldist.calibration.storage import save_calibration
    from labeldist.methods import METHODS
    from labeldist.records import LabelSet

    run = make_run(tmp_path / "a")
    rng = np.random.default_rng(0)
    cal = CALIBRATORS["platt"]().fit(rng.uniform(0.05, 0.95, (20, 2)), rng.integers(0, 3, (20, 2)) / 2)
    save_calibration(run / "calibration", LabelSet(("x", "y")), {next(iter(METHODS)): CalibrationSelection(
        "platt", cal, {"platt": 0.6}, "only")}, FitInfo("dev", 20))
    warning = Page(build_report([run], n_boot=20).html).box_text("warning")
    assert "was fitted on labels [x, y]" in warning and "not on [joy, anger, fear]" in warning


def test_incomplete_run_shows_a_warning_and_still_scores(tmp_path):
    run = make_run(tmp_path / "a", n=16, n_examples=20, complete=False)
    rep = build_report([run], n_boot=20)
    warning = Page(rep.html).box_text("warning")
    assert "is incomplete (16 of 20 items recorded; manifest complete: False)" in warning
    assert "rerun the same `labeldist run` command" in warning
    assert "Distribution alignment (Table 2)" in rep.html and rep.warnings


def test_incomplete_and_complete_runs_of_one_dataset_are_scored_separately(tmp_path):
    a = make_run(tmp_path / "a", n=16)
    b = make_run(tmp_path / "b", n=12, n_examples=16, complete=False, seed=1)
    page = Page(build_report([a, b], n_boot=20).html)
    warning = page.box_text("warning")
    assert "these runs cannot be scored together" in warning and "cover different examples" in warning
    assert f"Distribution alignment: {a}" in page.headings["h3"] and f"Distribution alignment: {b}" in page.headings["h3"]


def test_layout_1_run_gets_a_note_and_evaluates(tmp_path):
    run = tmp_path / "multi-test"
    shutil.copytree(FIXTURES / "multi-test", run)
    rep = build_report([run], n_boot=20)
    note = Page(rep.html).box_text("note")
    assert "has record layout 1, written by an earlier labeldist" in note and "cannot be resumed" in note
    assert "Distribution alignment (Table 2)" in rep.html and rep.n_images == 2


def test_run_from_another_labeldist_version_is_flagged(tmp_path):
    run = make_run(tmp_path / "a", version_of_labeldist="0.0.7")
    warning = Page(build_report([run], n_boot=20).html).box_text("warning")
    assert "was made by labeldist 0.0.7, this report by" in warning


def test_different_label_sets_of_one_dataset_are_separate_sections(tmp_path):
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", labels=("joy", "anger", "sadness"))
    rep = build_report([a, b], n_boot=20, n_examples=1)
    page = Page(rep.html)
    assert page.headings["h2"] == ["Overview", "toy: [joy, anger, fear] (multi-label)",
                                   "toy: [joy, anger, sadness] (multi-label)"]
    warning = page.box_text("warning")
    assert "runs of dataset 'toy' use 2 different label sets and are not compared" in warning
    assert "Each label set is shown as its own section" in warning
    assert page.tables.count("scores") >= 2 and rep.n_images == 4


def test_unreadable_run_is_named_on_the_page_when_others_can_be_shown(tmp_path):
    good = make_run(tmp_path / "a")
    empty = tmp_path / "empty"
    empty.mkdir()
    newer = make_run(tmp_path / "newer")
    m = json.loads((newer / "manifest.json").read_text())
    m["version"] = 99
    (newer / "manifest.json").write_text(json.dumps(m))
    rep = build_report([good, empty, newer], n_boot=20)
    warning = Page(rep.html).box_text("warning")
    assert f"{empty} cannot be shown: {empty} is not a labeldist run (no manifest.json)" in warning
    assert "written by a newer labeldist (layout 99" in warning
    assert rep.n_sections == 1 and len(rep.unreadable) == 2


def test_nothing_to_show_is_a_one_line_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LabeldistError, match="is not a labeldist run"):
        build_report([empty])
    no_records = tmp_path / "norecs"
    make_run(no_records)
    (no_records / "records.jsonl").unlink()
    out = tmp_path / "r.html"
    assert main(["report", str(empty), str(no_records), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "none of the 2 run directories can be read" in err and not out.exists()


def test_summary_renders_fields_it_does_not_know(tmp_path):
    """A summary field added later (e.g. mass outside the answer grammar) shows up without report changes."""
    from dataclasses import dataclass

    from labeldist.records import RunSummary
    from labeldist.report.html import _summary_rows
    from labeldist.report.run_status import inspect_run

    @dataclass
    class Later(RunSummary):
        mass_outside_grammar: float = 0.125

    status = inspect_run(make_run(tmp_path / "a"))
    status.run.manifest.summary = Later(n_examples=16, seconds=2.0, n_new=16)
    rows = _summary_rows(status)
    assert rows["mass outside grammar"] == "0.125" and rows["seconds per item"] == "0.125"


def test_cli_writes_the_file(tmp_path, capsys):
    run = make_run(tmp_path / "a")
    out = tmp_path / "sub" / "r.html"
    assert main(["report", str(run), "--out", str(out), "--n-boot", "20", "--examples", "2", "--title", "T"]) == 0
    assert f"wrote {out} (1 section, 2 images" in capsys.readouterr().out
    page = Page(out.read_text(encoding="utf-8"))
    assert page.headings["h1"] == ["T"]
    assert write_report([run], tmp_path / "w.html", n_boot=20).n_sections == 1


def test_markdown_subset():
    html = markdown_to_html("## Title <b>\n\ntext with `code` and **bold**\n\n- one\n- two\n\n| a | b |\n|:---|---:|\n"
                            "| <i> | 2 |")
    assert "<h4>Title &lt;b&gt;</h4>" in html
    assert "<p>text with <code>code</code> and <strong>bold</strong></p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<th>a</th><th class=\"num\">b</th>" in html and "<td>&lt;i&gt;</td><td class=\"num\">2</td>" in html


def test_manifest_of_the_report_input_is_not_modified(tmp_path):
    run = make_run(tmp_path / "a")
    before = (run / "manifest.json").read_bytes(), (run / "records.jsonl").read_bytes()
    build_report([run], n_boot=20)
    assert ((run / "manifest.json").read_bytes(), (run / "records.jsonl").read_bytes()) == before
    assert Manifest.read(run).complete


def test_overview_names_the_best_row_of_each_dataset(tmp_path):
    a = make_run(tmp_path / "a")
    c = make_run(tmp_path / "c", dataset="other", labels=("pos", "neg"), multilabel=False)
    html = build_report([a, c], n_boot=20, n_examples=0).html
    overview = html.split("<h2>Overview</h2>", 1)[1].split("</table>", 1)[0]
    for run, name in ((a, "toy"), (c, "other")):
        res = evaluate_runs([run], n_boot=20)
        best = min(res.scores, key=lambda s: s.value if s.metric == "nll" else float("inf"))
        row = overview.split(f">{name}</a>", 1)[1].split("</tr>", 1)[0]
        assert f"{best.method} <span class=\"ci\">{best.value:.3f}</span>" in row
    assert "href=\"#section-1\"" in overview and "href=\"#section-2\"" in overview


def test_out_that_is_a_directory_is_a_one_line_error(tmp_path, capsys):
    run = make_run(tmp_path / "a")
    assert main(["report", str(run), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"labeldist: error: --out {tmp_path} is a directory; pass a file name, e.g. report.html"

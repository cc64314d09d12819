"""Small run directories for the report tests, written with the real RunStore (like tests/test_evaluation.py)."""

from __future__ import annotations

import numpy as np

from labeldist.methods import GENERATION_GROUP, apply_methods, selected_methods
from labeldist.records import (
    ExampleRecord,
    GenerationDiagnostics,
    GenerationRecord,
    LabelSpan,
    HumanDistribution,
    LabelSet,
    RunSummary,
    StageCost,
    StepScores,
)
from labeldist.runs.environment import environment
from labeldist.runs.store import RunStore
from tests.helpers import make_manifest

LABELS = ("joy", "anger", "fear")


def make_run(path, *, labels=LABELS, multilabel=True, dataset="toy", model="fake", n=16, seed=0, complete=True,
             n_examples=None, version_of_labeldist=None, summary=True, texts=None, no_steps=()):
    """A finished run of ``n`` items with the generation group's methods (computed by the registry from one
    stored first step and answer), and a summary.

    ``complete=False`` / ``n_examples`` > n make it look interrupted; ``version_of_labeldist``
    overrides the labeldist version recorded in the manifest's environment; items whose index is in
    ``no_steps`` have no label step, so the step methods give them the no-label fallback.
    """
    rng = np.random.default_rng(seed)
    ls = LabelSet(labels, multilabel=multilabel)
    specs = selected_methods((GENERATION_GROUP,), ls)
    methods = [s.name for s in specs]
    manifest = make_manifest({"seed": seed, "labels": list(labels)}, labels=labels, multilabel=multilabel,
                             dataset=dataset, model=model, methods=methods, train_base_rates=[0.2] * len(labels))
    manifest.environment = environment()
    if version_of_labeldist is not None:
        manifest.environment["versions"]["labeldist"] = version_of_labeldist
    store = RunStore.open(path, manifest)
    data_rng = np.random.default_rng(1234)  # ids, human and gold are the same in every run
    for i in range(n):
        q = data_rng.integers(0, 5, size=len(labels)) / 4
        if not multilabel:
            q = np.bincount(data_rng.integers(0, len(labels), size=4), minlength=len(labels)) / 4
        gold = [l for l, v in zip(labels, q) if v >= 0.5] if multilabel else [labels[int(np.argmax(q))]]
        z = rng.normal(size=len(ls.candidates))
        text = texts[i] if texts is not None and i < len(texts) else f"text {i}"
        rec = ExampleRecord(id=f"ex{i}", text=text, gold=gold, human=HumanDistribution(tuple(map(float, q)), 4),
                            split="test", steps=[] if i in no_steps else [StepScores(0, 1, labels[0], z)])
        rec.generation = GenerationRecord('{"label": ["%s"]}' % labels[0], [1, 2], [labels[0]], [], "stop",
                                          GenerationDiagnostics(True, len(ls.candidates), 0),
                                          token_logprobs=[float(-abs(z[0])), -0.1], label_spans=[LabelSpan(labels[0], 0, 1)])
        apply_methods(rec, specs, ls)
        rec.cost["generation"] = StageCost(prompts=1, prompt_tokens=40, generated_tokens=6)
        store.append(rec)
    store.update_manifest(summary=RunSummary(n_examples=n, n_new=n, seconds=2.5, fallbacks={m: 1 for m in methods},
                                             malformed_answers=0) if summary else None,
                          n_examples=n_examples or n, complete=complete)
    return path


def png_bytes(width=40, height=30) -> bytes:
    """A small real PNG (a matplotlib line plot) of about ``width`` x ``height`` pixels."""
    from matplotlib.figure import Figure

    from labeldist.report.html_parts import figure_png

    fig = Figure(figsize=(width / 110, height / 110))
    fig.add_subplot().plot([0, 1], [1, 0])
    return figure_png(fig)


class Page:
    """What a rendered report holds, read with the standard library's HTML parser (no browser)."""

    def __init__(self, text: str):
        from html.parser import HTMLParser

        self.imgs: list[dict] = []
        self.tables: list[str] = []  # class of each <table>
        self.best_cells: list[str] = []  # text of each <td class="... best">
        self.boxes: list[tuple[str, str]] = []  # (class, text)
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": [], "h4": []}
        self.scripts = 0
        self.links: list[str] = []
        page = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "img":
                    page.imgs.append(a)
                    return
                if tag == "table":
                    page.tables.append(a.get("class") or "")
                if tag == "script":
                    page.scripts += 1
                if tag in ("a", "link") and a.get("href"):
                    page.links.append(a["href"])
                if tag in ("td", "div", "h1", "h2", "h3", "h4"):
                    self.stack.append((tag, a.get("class") or "", []))

            def handle_endtag(self, tag):
                if self.stack and self.stack[-1][0] == tag:
                    t, cls, parts = self.stack.pop()
                    text = "".join(parts)
                    if t == "td" and "best" in cls.split():
                        page.best_cells.append(text)
                    elif t == "div" and "box" in cls.split():
                        page.boxes.append((cls, text))
                    elif t in page.headings:
                        page.headings[t].append(text)
                    if self.stack:
                        self.stack[-1][2].append(text)

            def handle_data(self, data):
                if self.stack:
                    self.stack[-1][2].append(data)

        parser = P(convert_charrefs=True)
        parser.stack = []  # open td/div/heading elements: (tag, class, text parts)
        parser.feed(text)

    def box_text(self, kind: str) -> str:
        return "\n".join(t for cls, t in self.boxes if kind in cls.split())

"""The few-shot classification prompt of REFERENCE §2.1-2.2, as token-id segments.

Assembly (plain text, the default and what the paper's pipelines used):
``instruction`` with ``{labels}`` = ``"a, b and c"`` (label-set order, no Oxford comma),
then one in-context block per demo (``template`` with ``{text}`` and ``{label}``), then the
query block cut just before ``{label}``; the whole prompt is ``.strip()``-ed so the model
writes the separator and the label itself. Labels inside a demo are listed in label-set
order (``canonical``), or ``reverse`` / ``random`` (seeded) for the label-order analysis;
an empty label list is written ``none``.

The prompt is returned as two segments: the instruction + demos (identical for every
query, so a backend caches it once) and the query. The split point is where the
tokenisation of the prefix alone stops agreeing with the tokenisation of the whole
prompt, so the concatenated ids always equal the ids of the full prompt.

``chat=True`` renders the same content with the model's chat template: the instruction
opens the first user turn, demos become user/assistant turns, and — fixing the
reference, which omitted it — the generation prompt is added.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from labeldist import streams
from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, Example, LabelSet, PromptIds
from labeldist.tokenizer import Tokenizer

MULTILABEL_INSTRUCTION = (
    "Classify the following inputs into none, one, or multiple the following labels per input: {labels}. "
    "Output exactly these labels and no others.\n"
)
SINGLELABEL_INSTRUCTION = (
    "Classify the following inputs into one of the following options per input: {labels}. "
    "Output exactly one label and no others.\n\n"
)
DEFAULT_TEMPLATE = "Input: {text}\n{label}\n"
LABEL_FORMATS = ("json", "comma")
LABEL_ORDERS = ("canonical", "random", "reverse")


@dataclass(frozen=True)
class PromptConfig:
    """How to build the classification prompt (all fields are recorded in the run manifest)."""

    instruction: str | None = None  # None: the multi- or single-label default above
    template: str = DEFAULT_TEMPLATE
    label_format: str = "json"
    json_key: str = "label"
    label_order: str = "canonical"
    chat: bool = False
    shots: int = 10
    demo_sampling: str | None = None  # None: multilabel / uniform by label set
    demo_ratio: float = 0.5
    seed: int = 0
    max_new_tokens: int = 18

    def __post_init__(self) -> None:
        if self.label_format not in LABEL_FORMATS:
            raise LabeldistError(f"unknown label format {self.label_format!r}", f"use one of {', '.join(LABEL_FORMATS)}")
        if self.label_order not in LABEL_ORDERS:
            raise LabeldistError(f"unknown label order {self.label_order!r}", f"use one of {', '.join(LABEL_ORDERS)}")
        if "{text}" not in self.template or "{label}" not in self.template or self.template.index("{text}") > self.template.index("{label}"):
            raise LabeldistError(f"template {self.template!r} must contain {{text}} followed by {{label}}", "e.g. 'Input: {text}\\n{label}\\n'")
        if self.shots < 0:
            raise LabeldistError(f"--shots must be >= 0, got {self.shots}", "pass a non-negative number")

    def to_dict(self) -> dict:
        return asdict(self)


def join_labels(labels: Sequence[str]) -> str:
    """``"a, b and c"``: the reference's instruction list (no Oxford comma)."""
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


class FewShotPrompter:
    """Builds the token-id prompt for any query text, with fixed demos."""

    def __init__(self, config: PromptConfig, label_set: LabelSet, demos: Sequence[Example], tokenizer: Tokenizer,
                 *, order_rng: np.random.Generator | None = None):
        self.config, self.label_set, self.demos, self.tokenizer = config, label_set, list(demos), tokenizer
        instr = config.instruction or (MULTILABEL_INSTRUCTION if label_set.multilabel else SINGLELABEL_INSTRUCTION)
        self.instruction = instr.replace("{labels}", join_labels(label_set.labels))
        # ``random`` label order draws from the run's "label_order" stream (labeldist.streams).
        rng = order_rng if order_rng is not None else streams.rng("label_order", config.seed)
        self.demo_answers = [self.format_labels(list(d.gold or ()), rng) for d in self.demos]
        self._prefix_ids: list[int] | None = None

    # -- text ---------------------------------------------------------------------
    def format_labels(self, labels: list[str], rng: np.random.Generator | None = None) -> str:
        labels = [l for l in self.label_set.labels if l in set(labels)]  # canonical order
        if self.config.label_order == "reverse":
            labels = labels[::-1]
        elif self.config.label_order == "random" and rng is not None:
            labels = [labels[i] for i in rng.permutation(len(labels))]
        if self.config.label_format == "json":
            return json.dumps({self.config.json_key: labels or [NONE_LABEL]}, ensure_ascii=False)
        return ", ".join(labels) or NONE_LABEL

    def _query_block(self, text: str) -> str:
        t = self.config.template
        return t[: t.index("{label}")].replace("{text}", text)

    def _demo_block(self, text: str, answer: str) -> str:
        # {label} first, then {text}: a demo text containing "{label}" must stay literal.
        return self.config.template.replace("{label}", answer, 1).replace("{text}", text, 1)

    @property
    def stop(self) -> list[str]:
        """Stop strings: the template's text before ``{text}`` (the next example's start), and for
        JSON answers the closing ``}`` — nothing after it is ever read, so decoding it is waste."""
        head = self.config.template[: self.config.template.index("{text}")]
        extra = ["}"] if self.config.label_format == "json" else []
        return [s for s in dict.fromkeys([head, head.strip(), *extra]) if s]

    @property
    def slot_contexts(self) -> list[str]:
        """Text preceding a label in the model's answer: first slot, then later slots."""
        t = self.config.template
        between = t[t.index("{text}") + len("{text}") : t.index("{label}")]
        lead = between[len(between.rstrip()) :] if not self.config.chat else ""
        if self.config.label_format == "json":
            return [lead + "{" + json.dumps(self.config.json_key) + ': ["', '", "']
        return [lead, ", "]

    def text(self, query: str) -> tuple[str, str]:
        """(prefix_text, full_text) of the prompt for ``query``."""
        if self.config.chat:
            msgs: list[dict] = []
            for i, (d, a) in enumerate(zip(self.demos, self.demo_answers)):
                content = (self.instruction if i == 0 else "") + self._query_block(d.text).strip()
                msgs += [{"role": "user", "content": content}, {"role": "assistant", "content": a}]
            q = (self.instruction if not self.demos else "") + self._query_block(query).strip()
            full = self.tokenizer.chat_prompt(msgs + [{"role": "user", "content": q}])
            return full[: full.rfind(q)], full
        prefix = self.instruction + "".join(self._demo_block(d.text, a) for d, a in zip(self.demos, self.demo_answers))
        full = (prefix + self._query_block(query)).strip()
        return prefix.lstrip(), full

    # -- ids ------------------------------------------------------------------------
    def build(self, query: str) -> PromptIds:
        prefix_text, full_text = self.text(query)
        if self._prefix_ids is None:
            self._prefix_ids = self.tokenizer.encode(prefix_text)
        full = self.tokenizer.encode(full_text)
        k = 0
        for a, b in zip(self._prefix_ids, full):
            if a != b:
                break
            k += 1
        k = min(k, len(full) - 1)  # the query segment is never empty
        bos = self.tokenizer.bos_ids
        if bos and full[: len(bos)] == bos:
            bos = []  # a chat template already wrote it
        return PromptIds((tuple(bos + full[:k]), tuple(full[k:])))

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
from labeldist.prompts.answer import AnswerPieces, answer_pieces, fold_label_spaces
from labeldist.records import NONE_LABEL, Example, LabelSet, PromptIds
from labeldist.tokenizer import Tokenizer

MULTILABEL_INSTRUCTION = (
    "Classify the following inputs into none, one, or multiple the following {task} per input: {labels}. "
    "Output exactly these {task} and no others.\n"
)
SINGLELABEL_INSTRUCTION = (
    "Classify the following inputs into one of the following options per input: {labels}. "
    "Output exactly one label and no others.\n\n"
)
DEFAULT_TEMPLATE = "Input: {text}\n{label}\n"
DEFAULT_TASK = "labels"
LABEL_FORMATS = ("json", "comma", "llamaguard")  # llamaguard: labeldist.prompts.llamaguard
LABEL_ORDERS = ("canonical", "random", "reverse")

#: How a zero-shot prompt (no demos) says what an answer looks like; ``{example}`` is the
#: answer's shape with placeholders, ``{none}`` the no-label answer, ``{candidates}`` the
#: label list followed by "none". Chosen by measurement on dev splits (docs/results/zero-shot.md).
ZERO_SHOT_HINTS: dict[str, str] = {
    "none": "",
    "format": "Answer in the format {example} with every label that applies, or {none} if none applies.\n",
    "candidates": "The possible answers are: {candidates}. Answer in the format {example} with every label "
                  "that applies, or {none} if none applies.\n",
    "question": "Answer in the format {example} with every label that applies, or {none} if none applies.\n",
}
#: The ``question`` hint also asks the instruction as a question (when no --instruction is given).
QUESTION_INSTRUCTIONS = {True: "Which of these {task} does the input express: {labels}?\n",
                         False: "Which one of these {task} fits the input best: {labels}?\n"}
DEFAULT_ZERO_SHOT_HINT = "candidates"  # measured best on dev: docs/results/zero-shot.md


@dataclass(frozen=True)
class PromptConfig:
    """How to build the classification prompt (all fields are recorded in the run manifest).

    ``chat=None`` means: the model's chat template for zero-shot prompts when it has one,
    the plain few-shot text (the paper's) otherwise. ``zero_shot_hint`` names the sentence
    of :data:`ZERO_SHOT_HINTS` appended to the instruction when there are no demos; with
    ``question`` and no explicit ``instruction``, a zero-shot prompt asks
    :data:`QUESTION_INSTRUCTIONS` instead of the preset's instruction.
    """

    instruction: str | None = None  # None: the multi- or single-label default above, naming ``task``
    template: str = DEFAULT_TEMPLATE
    label_format: str = "json"
    json_key: str = "label"
    label_order: str = "canonical"
    chat: bool | None = None
    shots: int = 10
    demo_sampling: str | None = None  # None: multilabel / uniform by label set
    demo_ratio: float = 0.5
    seed: int = 0
    max_new_tokens: int = 18
    task: str = DEFAULT_TASK
    zero_shot_hint: str = DEFAULT_ZERO_SHOT_HINT

    def __post_init__(self) -> None:
        if self.label_format not in LABEL_FORMATS:
            raise LabeldistError(f"unknown label format {self.label_format!r}", f"use one of {', '.join(LABEL_FORMATS)}")
        if self.label_order not in LABEL_ORDERS:
            raise LabeldistError(f"unknown label order {self.label_order!r}", f"use one of {', '.join(LABEL_ORDERS)}")
        if "{text}" not in self.template or "{label}" not in self.template or self.template.index("{text}") > self.template.index("{label}"):
            raise LabeldistError(f"template {self.template!r} must contain {{text}} followed by {{label}}", "e.g. 'Input: {text}\\n{label}\\n'")
        if not 0.0 <= self.demo_ratio <= 1.0:
            raise LabeldistError(f"--demo-ratio must be in [0, 1], got {self.demo_ratio}", "pass a share, e.g. 0.4")
        if self.shots < 0:
            raise LabeldistError(f"--shots must be >= 0, got {self.shots}", "pass a non-negative number")
        if self.max_new_tokens < 1:
            raise LabeldistError(f"--max-new-tokens must be at least 1, got {self.max_new_tokens}", "pass e.g. 18")
        if self.zero_shot_hint not in ZERO_SHOT_HINTS:
            raise LabeldistError(f"unknown zero-shot hint {self.zero_shot_hint!r}",
                                 f"use one of {', '.join(ZERO_SHOT_HINTS)}")
        if not self.task.strip():
            raise LabeldistError("--task is empty", "name what the labels are, e.g. --task emotions")

    def to_dict(self) -> dict:
        return asdict(self)


def join_labels(labels: Sequence[str]) -> str:
    """``"a, b and c"``: the reference's instruction list (no Oxford comma)."""
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def label_order(label_set: LabelSet, order: str, rng: np.random.Generator | None = None) -> tuple[str, ...]:
    """The run's label order: label-set order, its reverse, or one seeded permutation for the whole run."""
    labels = label_set.labels
    if order == "reverse":
        return labels[::-1]
    if order == "random":
        rng = rng if rng is not None else np.random.default_rng(0)
        return tuple(labels[i] for i in rng.permutation(len(labels)))
    return labels


class FewShotPrompter:
    """Builds the token-id prompt for any query text, with fixed demos.

    ``order`` is the run's label order (instruction list and every demo's labels);
    ``chat`` the resolved chat flag; ``pieces`` the answer's strings (its opening is appended
    to the prompt for constrained decoding, see :mod:`labeldist.labels.grammar`).
    """

    def __init__(self, config: PromptConfig, label_set: LabelSet, demos: Sequence[Example], tokenizer: Tokenizer,
                 *, order_rng: np.random.Generator | None = None):
        self.config, self.label_set, self.demos, self.tokenizer = config, label_set, list(demos), tokenizer
        # ``random`` label order draws from the run's "label_order" stream (labeldist.streams), once per run.
        rng = order_rng if order_rng is not None else streams.rng("label_order", config.seed)
        self.order = label_order(label_set, config.label_order, rng)
        self.chat = config.chat if config.chat is not None else (not self.demos and tokenizer.has_chat_template)
        if self.chat and not tokenizer.has_chat_template:
            tokenizer.chat_prompt([])  # raises the user-facing "no chat template" error
        instr = config.instruction or (MULTILABEL_INSTRUCTION if label_set.multilabel else SINGLELABEL_INSTRUCTION)
        if not self.demos and config.zero_shot_hint == "question" and config.instruction is None:
            instr = QUESTION_INSTRUCTIONS[label_set.multilabel]
        self.instruction = instr.replace("{labels}", join_labels(self.order)).replace("{task}", config.task)
        if not self.demos:
            self.instruction += self.zero_shot_hint()
        self.demo_answers = [self.format_labels(list(d.gold or ())) for d in self.demos]
        self._prefix_ids: list[int] | None = None
        self._folded: AnswerPieces | None = None

    def fold_label_spaces(self) -> None:
        """Constrained comma answers: a space the tokenizer writes as its own token before every
        label moves into the opening / separator (:func:`labeldist.prompts.answer.fold_label_spaces`)."""
        if self.config.label_format == "comma":
            self._folded = fold_label_spaces(self.pieces, self.tokenizer, self.label_set.candidates)

    # -- text ---------------------------------------------------------------------
    def format_labels(self, labels: list[str]) -> str:
        """An answer listing ``labels`` in the run's label order (``none`` when empty)."""
        labels = [l for l in self.order if l in set(labels)]
        if self.config.label_format == "json":
            return json.dumps({self.config.json_key: labels or [NONE_LABEL]}, ensure_ascii=False)
        return ", ".join(labels) or NONE_LABEL

    def zero_shot_hint(self) -> str:
        """The answer-shape sentence of a zero-shot prompt (:data:`ZERO_SHOT_HINTS`)."""
        hint = ZERO_SHOT_HINTS[self.config.zero_shot_hint]
        if not hint:
            return ""
        multi = self.label_set.multilabel
        cands = list(self.order) + ([NONE_LABEL] if multi else [])
        if self.config.label_format == "json":
            inner = '"<label>", ...' if multi else '"<label>"'
            example = "{" + json.dumps(self.config.json_key) + ": [" + inner + "]}"
        else:
            example = "<label>, <label>, ..." if multi else "<label>"
        hint = hint.replace("{candidates}", ", ".join(cands)).replace("{example}", example)
        if not multi:  # a single-label answer is exactly one label, never "none"
            hint = hint.replace(" with every label that applies, or {none} if none applies", " with the one label that applies")
        return hint.replace("{none}", self.format_labels([]))

    def _query_block(self, text: str) -> str:
        t = self.config.template
        return t[: t.index("{label}")].replace("{text}", text)

    def _demo_block(self, text: str, answer: str) -> str:
        # {label} first, then {text}: a demo text containing "{label}" must stay literal.
        return self.config.template.replace("{label}", answer, 1).replace("{text}", text, 1)

    @property
    def stop(self) -> list[str]:
        """Stop strings (free decoding): the template's text before ``{text}`` (the next example's
        start), and for JSON answers the closing ``}`` — nothing after it is ever read."""
        head = self.config.template[: self.config.template.index("{text}")]
        extra = ["}"] if self.config.label_format == "json" else []
        return [s for s in dict.fromkeys([head, head.strip(), *extra]) if s]

    @property
    def lead(self) -> str:
        """The template's whitespace between the query and the answer (empty in chat mode)."""
        t = self.config.template
        between = t[t.index("{text}") + len("{text}") : t.index("{label}")]
        return between[len(between.rstrip()) :] if not self.chat else ""

    @property
    def pieces(self) -> AnswerPieces:
        """The strings of an answer (opening, separator, closing); see :func:`answer_pieces`."""
        if self._folded is not None:
            return self._folded
        t = self.config.template
        after = t[t.index("{label}") + len("{label}") :]
        line_end = after[: after.index("\n") + 1] if "\n" in after else "\n"
        return answer_pieces(self.config.label_format, json_key=self.config.json_key, lead=self.lead,
                             line_end=line_end if not self.chat else "\n")

    @property
    def slot_contexts(self) -> list[str]:
        """Text preceding a label in the model's answer: first slot, then later slots."""
        if self.config.label_format == "json":
            return [self.lead + "{" + json.dumps(self.config.json_key) + ': ["', '", "']
        return [self.lead, ", "]

    def text(self, query: str) -> tuple[str, str]:
        """(prefix_text, full_text) of the prompt for ``query`` (without the answer's opening)."""
        if self.chat:
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

    def describe(self, query: str = "{text}") -> dict:
        """The resolved prompt, for the manifest: instruction, template, format, chat, order, an example."""
        return {"instruction": self.instruction, "template": self.config.template,
                "label_format": self.config.label_format, "chat": self.chat, "label_order": list(self.order),
                "opening": self.pieces.opening, "example": self.text(query)[1]}

    # -- ids ------------------------------------------------------------------------
    def build(self, query: str, *, opening: bool = False) -> PromptIds:
        """Token ids of the prompt for ``query``, as (shared prefix, query) segments; with
        ``opening`` the answer's opening is appended (constrained decoding)."""
        prefix_text, full_text = self.text(query)
        if opening:
            full_text += self.pieces.opening
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

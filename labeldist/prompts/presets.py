"""Prompt presets: the paper's prompt per dataset, and the same shape for every other dataset.

The four corpora of the paper's main experiments use their prompts exactly as the
reference's pipelines ran them (REFERENCE.md §2.3(a): instruction wording, in-context
template, label format, new-token budget, demo sampling). Every other registered dataset
gets a preset of the same shape that names its task: multi-label sets the GoEmotions shape
(JSON answers), single-label sets the HateXplain shape (``Question: … Answer: …``).
``labeldist run --dataset NAME`` uses the dataset's preset; ``--instruction``,
``--template``, ``--label-format`` and ``--max-new-tokens`` override single fields; for
``--data FILE`` the generic preset names ``--task``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from labeldist.errors import LabeldistError


@dataclass(frozen=True)
class PromptPreset:
    """One dataset's prompt: instruction (with ``{labels}``), template, answer format, token budget."""

    name: str
    instruction: str
    template: str
    label_format: str
    max_new_tokens: int
    demo_sampling: str | None  # None: the label set's default (multilabel / uniform)
    task: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


_PAPER = "paper (REFERENCE.md §2.3a, scripts/prob_distr/pipeline-*.sh)"

PAPER_PRESETS: dict[str, PromptPreset] = {p.name: p for p in (
    PromptPreset(
        "goemotions",
        "Classify the following inputs into none, one, or multiple the following emotions per input: {labels}. "
        "Output exactly these emotions and no others.\n",
        "Input: {text}\n{label}\n", "json", 18, "multilabel", "emotions", _PAPER),
    PromptPreset(
        "mfrc",
        "Classify the following inputs into none, one, or multiple the following moral foundations per input: "
        "{labels}.\n",
        "Input: {text}\nMoral foundation(s): {label}\n", "comma", 18, "multilabel", "moral foundations", _PAPER),
    PromptPreset(
        "semeval",
        "Classify the following inputs into none, one, or multiple the following emotions per input: {labels}.\n",
        "Input: {text}\n{label}\n", "comma", 25, "multilabel", "emotions", _PAPER),
    PromptPreset(
        "hatexplain",
        "Classify the following inputs into one of the following options per input: {labels}. "
        "Output exactly one label and no others.\n\n",
        "Question: {text}\nAnswer: {label}\n\n", "comma", 18, "uniform", "options", _PAPER),
)}


#: Llama Guard style outputs (``--label-format llamaguard``): the policy categories and the text in the
#: model's chat template; answers ``safe`` or ``unsafe\nS1,S3`` (labeldist.prompts.llamaguard). Zero-shot
#: by default, as Llama Guard is used; the labels are the category codes (``--labels S1,...,S14``).
LLAMA_GUARD_PRESET = PromptPreset(
    "llama-guard", "", "{text}\n{label}\n", "llamaguard", 20, None, "unsafe content categories",
    "Llama Guard 3 (meta-llama/Llama-Guard-3-8B model card; REFERENCE-METHODS-2.md §1.2): its task text and "
    "answer format, in the model's own chat template")


def generic_preset(task: str, multilabel: bool, name: str = "generic") -> PromptPreset:
    """The paper's shape naming ``task``: GoEmotions' for multi-label, HateXplain's for single-label sets."""
    if multilabel:
        return PromptPreset(
            name,
            f"Classify the following inputs into none, one, or multiple the following {task} per input: {{labels}}. "
            f"Output exactly these {task} and no others.\n",
            "Input: {text}\n{label}\n", "json", 18, "multilabel", task,
            "labeldist: the GoEmotions prompt's shape, naming the task")
    return PromptPreset(
        name,
        f"Classify the following inputs into one of the following {task} per input: {{labels}}. "
        "Output exactly one label and no others.\n\n",
        "Question: {text}\nAnswer: {label}\n\n", "comma", 18, "uniform", task,
        "labeldist: the HateXplain prompt's shape, naming the task")


#: Registered dataset name -> (paper preset name or None, task noun for the generic preset).
DATASET_TASKS: dict[str, tuple[str | None, str]] = {
    "goemotions": ("goemotions", "emotions"),
    "goemotions-27": ("goemotions", "emotions"),
    "mfrc": ("mfrc", "moral foundations"),
    "semeval2018-ec": ("semeval", "emotions"),
    "hatexplain": ("hatexplain", "options"),
    "chaosnli-snli": (None, "inference relations"),
    "chaosnli-mnli": (None, "inference relations"),
    "chaosnli-alphanli": (None, "hypotheses"),
    "dynasent-r1": (None, "sentiments"),
    "dynasent-r2": (None, "sentiments"),
    "dynasent-sst": (None, "sentiments"),
    "lewidi-md": (None, "offensiveness judgements"),
    "lewidi-hsbrexit": (None, "hate speech judgements"),
    "lewidi-armis": (None, "misogyny judgements"),
    "lewidi-convabuse": (None, "abuse judgements"),
    "lewidi-hsbrexit-ml": (None, "kinds of hate speech and offensive language"),
    "lewidi-convabuse-types": (None, "kinds of abuse"),
    "lewidi-csc": (None, "sarcasm ratings"),
    "lewidi-mp": (None, "irony judgements"),
    "lewidi-paraphrase": (None, "paraphrase ratings"),
    "lewidi-varierrnli": (None, "inference relations"),
    **{f"vader-{c}{s}": (None, "sentiments") for c in ("tweets", "movies", "nyt", "amazon") for s in ("", "-9")},
}


def preset_for(dataset: str | None, *, multilabel: bool, task: str | None = None) -> PromptPreset:
    """The preset of a registered dataset, or the generic one naming ``task`` (default ``labels``)."""
    if dataset is not None and dataset in DATASET_TASKS:
        paper, noun = DATASET_TASKS[dataset]
        if paper is not None and task is None:
            preset = PAPER_PRESETS[paper]
            if (preset.demo_sampling == "multilabel") != multilabel:
                raise LabeldistError(f"the {paper} preset is for a {'multi' if multilabel else 'single'}-label set "
                                     f"but {dataset!r} is not", "pass --instruction and --template explicitly")
            return preset
        return generic_preset(task or noun, multilabel, name=dataset)
    return generic_preset(task or "labels", multilabel)

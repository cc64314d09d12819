"""labeldist: honest per-label probabilities from language models for multi-label classification.

Public API (mirrors the CLI): :func:`classify`, :func:`run`, :func:`load_backend`,
:class:`LabelSet`, :class:`Example`, :class:`PromptConfig`, :class:`RunConfig`, and the
scikit-learn estimator :class:`LabelDistClassifier` (all but the records load lazily).
"""

from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example, HumanDistribution, LabelSet

__version__ = "0.1.0"

__all__ = [
    "LabeldistError", "Dataset", "Example", "HumanDistribution", "LabelSet",
    "classify", "run", "load_backend", "format_table", "PromptConfig", "RunConfig", "LabelDistClassifier",
]


def __getattr__(name):  # heavy modules (torch) load only when the API is used
    if name in ("classify", "run", "load_backend", "format_table"):
        from labeldist import api

        return getattr(api, name)
    if name == "PromptConfig":
        from labeldist.prompts.fewshot import PromptConfig

        return PromptConfig
    if name == "LabelDistClassifier":
        from labeldist.estimator import LabelDistClassifier

        return LabelDistClassifier
    if name == "RunConfig":
        from labeldist.runs.runner import RunConfig

        return RunConfig
    raise AttributeError(name)

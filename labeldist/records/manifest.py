"""The run manifest: what a run records about itself, written and read here and nowhere else.

``manifest.json`` holds the run's identity (``config``: resume requires equality), the
label set, the model's identity, the named random streams used, the resolved prompt,
the methods, package versions and machine, the evaluated items' digest, train base
rates, and the run summary. It is written atomically (temp file + fsync + rename), so a
crash never leaves a torn manifest.

Layout versions: 2 (current) has a ``version`` field; a manifest without one was written
before the method registry and reads as version 1.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from labeldist.errors import LabeldistError
from labeldist.records.labels import LabelSet

LAYOUT_VERSION = 2
MANIFEST = "manifest.json"


@dataclass
class ModelInfo:
    """The model a run used: registered name, backend, weights file or server, hash, dtype."""

    name: str
    backend: str
    source: str
    sha256: str | None = None
    dtype: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class RunSummary:
    """Counts over all records of a run (recomputed from the records on every resume)."""

    n_examples: int = 0
    n_new: int = 0
    n_resumed: int = 0
    seconds: float = 0.0
    fallbacks: dict[str, int] = field(default_factory=dict)  # method -> examples with the no-label fallback
    unknown_outputs: int = 0
    malformed_answers: int = 0
    examples_without_label_token: int = 0
    bounded_share: float = 0.0  # share of read scores that are only top-k bounds (served models)
    binary_position_disagreement: float | None = None  # mean share of pairs whose two orders disagree
    mean_outside_mass: float | None = None  # constrained: mean model mass outside the grammar at label slots
    grammar_override_share: float | None = None  # constrained: share of label slots where the grammar overrode
    marginal_bound_gap: float | None = None  # marginal: mean over examples and labels of upper − lower bound

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunSummary":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class ResolvedPrompt:
    """The prompt as the run built it: demo ids, sampling strategy, label-token map, stop strings."""

    demos: list[str] = field(default_factory=list)
    demo_sampling: str | None = None
    label_tokens: dict = field(default_factory=dict)
    stop: list[str] = field(default_factory=list)
    resolved: dict = field(default_factory=dict)  # instruction, template, format, chat, label order, opening
    grammar: dict = field(default_factory=dict)  # constrained decoding: the answer's token units


@dataclass
class Manifest:
    """Typed ``manifest.json`` of a run directory."""

    config: dict  # the run's identity: {"run": RunConfig, "label_set", "data", "demo_ids"}
    label_set: LabelSet
    dataset: str
    model: ModelInfo
    methods: list[str]
    prompt: ResolvedPrompt = field(default_factory=ResolvedPrompt)
    streams: dict[str, list[int]] = field(default_factory=dict)  # random stream name -> [seed, *key]
    environment: dict = field(default_factory=dict)
    n_examples: int = 0
    example_ids_sha256: str = ""
    train_base_rates: list[float] | None = None
    summary: RunSummary | None = None
    supervised: dict = field(default_factory=dict)  # what the supervised methods were fitted on, and how
    complete: bool = False
    resumed: int = 0
    version: int = LAYOUT_VERSION
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept on rewrite

    def to_dict(self) -> dict:
        d = {
            "version": self.version,
            "config": self.config,
            "label_set": self.label_set.to_dict(),
            "dataset": self.dataset,
            "model": asdict(self.model),
            "methods": list(self.methods),
            "prompt": asdict(self.prompt),
            "streams": self.streams,
            "environment": self.environment,
            "n_examples": self.n_examples,
            "example_ids_sha256": self.example_ids_sha256,
            "train_base_rates": self.train_base_rates,
            "summary": None if self.summary is None else self.summary.to_dict(),
            "supervised": self.supervised,
            "complete": self.complete,
            "resumed": self.resumed,
        }
        return {**self.extra, **d}

    @classmethod
    def from_dict(cls, d: dict, *, where: str = "manifest") -> "Manifest":
        version = int(d.get("version", 1))
        if version > LAYOUT_VERSION:
            raise LabeldistError(f"{where} was written by a newer labeldist (layout {version}, this one reads "
                                 f"up to {LAYOUT_VERSION})", "upgrade labeldist to read it")
        try:
            label_set = LabelSet.from_dict(d["label_set"])
            model = ModelInfo(**{k: v for k, v in d["model"].items() if k in {f.name for f in fields(ModelInfo)}})
            prompt_d = d.get("prompt") or {}
            prompt = ResolvedPrompt(**{k: v for k, v in prompt_d.items() if k in {f.name for f in fields(ResolvedPrompt)}})
            known = {f.name for f in fields(cls)} | {"seeds"}
            m = cls(
                config=d["config"],
                label_set=label_set,
                dataset=str(d.get("dataset") or ""),
                model=model,
                methods=list(d.get("methods", [])),
                prompt=prompt,
                streams=dict(d.get("streams") or (_v1_streams(d) if version == 1 else {})),
                environment=d.get("environment") or {},
                n_examples=int(d.get("n_examples", 0)),
                example_ids_sha256=str(d.get("example_ids_sha256", "")),
                train_base_rates=d.get("train_base_rates"),
                summary=None if d.get("summary") is None else RunSummary.from_dict(d["summary"]),
                supervised=d.get("supervised") or {},
                complete=bool(d.get("complete", False)),
                resumed=int(d.get("resumed", 0)),
                version=version,
                extra={k: v for k, v in d.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, LabeldistError):
                raise
            raise LabeldistError(f"{where} is not a labeldist manifest ({type(e).__name__}: {e})",
                                 "pass a directory written by `labeldist run`") from None
        return m

    # -- one place that reads and writes manifest.json ------------------------------------
    @classmethod
    def read(cls, run_dir: str | Path) -> "Manifest":
        path = Path(run_dir) / MANIFEST
        if not path.is_file():
            raise LabeldistError(f"{run_dir} is not a labeldist run (no {MANIFEST})",
                                 "pass a directory written by `labeldist run`")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise LabeldistError(f"{path} is not valid JSON ({e})", "delete the run directory and run again") from None
        if not isinstance(d, dict):
            raise LabeldistError(f"{path} is not a JSON object", "delete the run directory and run again")
        return cls.from_dict(d, where=str(path))

    def write(self, run_dir: str | Path) -> None:
        """Atomic: a temp file is fsynced and renamed over ``manifest.json``."""
        path = Path(run_dir) / MANIFEST
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)


def _v1_streams(d: dict) -> dict[str, list[int]]:
    """Layout 1 recorded one seed; its streams were the same as today's (see labeldist.streams)."""
    seed = (d.get("seeds") or {}).get("demos")
    if seed is None:
        return {}
    return {"demos": [int(seed)], "label_order": [int(seed), 1]}

"""Generated malformed inputs through ``labeldist run`` and ``labeldist.api.run``: the campaign of issue 17, item 5.

Three sources, each a hypothesis strategy of cases with the regex their error must match:

* ``file``: a malformed annotated file (:func:`tests.data.malformed.malformed_cases`: every
  layout and format, broken quoting, wrong encodings, missing/extra columns, empty and
  duplicate ids, unknown labels, NaNs and non-strings in label cells, huge texts, torn
  JSONL lines...) through the CLI;
* ``flag``: bad flag values and combinations (:func:`flag_cases`) through the CLI;
* ``api``: bad arguments to :func:`labeldist.api.run` (:func:`api_cases`).

A case *holds* when the CLI exits 2 (the API raises :class:`LabeldistError`) with exactly one
error line (``labeldist: warning:`` lines aside) of the form ``problem; fix`` that matches the
case's regex, without a traceback, and no run directory (neither ``--out`` nor a default
``runs/``) is left behind. :func:`campaign` runs N distinct cases of each source and returns
the counts and every case that fell short.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from labeldist.errors import LabeldistError
from tests.data.malformed import bad_flag_cases, malformed_cases

SOURCES = ("file", "flag", "api")
GOOD_ROWS = ('{"id": "a1", "text": "I won the lottery!", "annotations": [["joy"], ["joy"]], "split": "test"}\n'
             '{"id": "a2", "text": "This is outrageous.", "annotations": [["anger"], []], "split": "test"}\n'
             '{"id": "d1", "text": "What a lovely day.", "annotations": [["joy"], ["joy"]], "split": "train"}\n')


@dataclass
class Outcome:
    source: str
    case: str  # a short description (the argv or the call)
    held: bool
    why: str = ""  # what fell short


@dataclass
class CampaignResult:
    tried: Counter = field(default_factory=Counter)  # source -> distinct cases tried
    fell_short: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.tried.values())


# ------------------------------------------------------------------------------------------ checking
def check_message(msg: str, expect: str) -> str:
    """'' if ``msg`` is one ``problem; fix`` line matching ``expect``, else what is wrong."""
    if "\n" in msg or "\r" in msg:
        return f"more than one line: {msg!r}"
    problem, sep, fix = msg.partition("; ")
    if not (sep and problem.strip() and fix.strip()):
        return f"no 'problem; fix' form: {msg!r}"
    if not re.search(expect, msg):
        return f"does not match {expect!r}: {msg!r}"
    return ""


def run_cli(main: Callable, argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse
            code = e.code
        except BaseException as e:  # noqa: BLE001 - a crash is what the campaign looks for
            import traceback

            err.write("Traceback (crash): " + "".join(traceback.format_exception_only(type(e), e)))
            code = "crash"
    return code, err.getvalue()


def check_cli(main: Callable, argv: list[str], expect: str, out: Path, cwd: Path, *, names: str = "") -> str:
    """'' if ``labeldist argv`` held (see the module docstring; ``names``: a string the error must contain)."""
    code, err = run_cli(main, argv)
    lines = [l for l in err.strip().splitlines() if not l.startswith("labeldist: warning: ")]
    left = [str(p) for p in (out, cwd / "runs") if p.exists()]
    if "Traceback" in err:
        return f"traceback: {err.strip()[-300:]}"
    if code != 2:
        return f"exit code {code} (stderr: {err.strip()[-200:]!r})"
    if left:
        return f"left a run directory behind: {left}"
    if len(lines) != 1 or not re.match(r"labeldist( \w+)?: error: ", lines[0]):
        return f"not one error line: {lines!r}"
    why = check_message(lines[0].split(": error: ", 1)[1], expect)
    if not why and names and names not in lines[0]:
        why = f"the message does not name {names}: {lines[0]!r}"
    return why


def check_api(call: Callable[[], object], expect: str, out: Path) -> str:
    try:
        call()
    except LabeldistError as e:
        if out.exists():
            return f"left a run directory behind: {out}"
        return check_message(str(e), expect)
    except BaseException as e:  # noqa: BLE001
        return f"raised {type(e).__name__} instead of a LabeldistError: {e}"
    return "no error: the call succeeded"


# ------------------------------------------------------------------------------------------ flags
INT_RANGE = {  # flag -> (largest bad value, regex)
    "--batch-size": (0, r"--batch-size must be at least 1, got -?\d+; use e\.g\. --batch-size 20"),
    "--n": (0, r"--n must be at least 1, got -?\d+"),
    "--seed": (-1, r"--seed must be at least 0, got -\d+"),
    "--max-binary-pairs": (0, r"--max-binary-pairs must be at least 1"),
    "--shots": (-1, r"--shots must be >= 0, got -\d+"),
    "--max-new-tokens": (0, r"--max-new-tokens must be at least 1, got -?\d+"),
}
HTTP_RANGE = {
    "--concurrency": (0, r"--concurrency must be at least 1"),
    "--top-logprobs": (0, r"--top-logprobs must be at least 1"),
}
CHOICE_FLAGS = ("--dtype", "--decoding", "--label-format", "--backend", "--demo-sampling", "--test-set", "--token-form",
                "--label-order", "--zero-shot-hint")
INT_FLAGS = ("--batch-size", "--n", "--seed", "--shots", "--max-new-tokens", "--max-binary-pairs")
words = st.text(alphabet="abcxyz-_.01", min_size=1, max_size=10)


@dataclass(frozen=True)
class FlagCase:
    extra: tuple[str, ...]  # flags after the base argv (``<data>``, ``<file>``, ``<dir>``: placeholders)
    expect: str
    source: str = "data"  # data: --data GOOD; none: no --data/--dataset; both: --data and --dataset
    real_backend: bool = False  # model flags need the real load_backend (it resolves the model)
    default_out: bool = False  # no --out: a run would go to ./runs/<name>


@st.composite
def flag_cases(draw) -> FlagCase:
    """A bad flag value or combination, with --out given or left to its default (``runs/...``)."""
    case = draw(_flag_cases())
    if draw(st.booleans()) and not any(a.startswith("--out") for a in case.extra):
        case = FlagCase(case.extra, case.expect, case.source, case.real_backend, default_out=True)
    return case


@st.composite
def _flag_cases(draw) -> FlagCase:
    kind = draw(st.sampled_from(["int_range", "http_range", "timeout", "bad_int", "choice", "unknown", "sources",
                                 "http", "paths", "prompt", "layout", "chat", "model"]))
    if kind == "int_range":
        flag = draw(st.sampled_from(sorted(INT_RANGE)))
        top, expect = INT_RANGE[flag]
        return FlagCase((f"{flag}={draw(st.integers(-10**9, top))}",), expect)
    http = ("--backend", "http", "--base-url", "http://127.0.0.1:9")
    if kind == "http_range":
        flag = draw(st.sampled_from(sorted(HTTP_RANGE)))
        top, expect = HTTP_RANGE[flag]
        return FlagCase((*http, f"{flag}={draw(st.integers(-10**6, top))}"), expect)
    if kind == "timeout":
        value = draw(st.sampled_from(["0", "-1", "nan", "inf", "-inf", "-0.5", "1e-400"]) | st.floats(-1e6, 0).map(repr))
        return FlagCase((*http, f"--timeout={value}"), r"--timeout must be a positive number of seconds")
    if kind == "bad_int":
        flag = draw(st.sampled_from(INT_FLAGS))
        value = draw(words.filter(lambda v: not re.fullmatch(r"-?\d+", v)) | st.sampled_from(["1.5", "1e3", "0x10", ""]))
        return FlagCase((f"{flag}={value}",), rf"argument {flag}: invalid int value: '{re.escape(value)}'; "
                                              r"see `labeldist run --help`")
    if kind == "choice":
        flag = draw(st.sampled_from(CHOICE_FLAGS))
        value = draw(words.filter(lambda v: v not in ("auto", "fp32", "bf16", "hf", "http", "json", "comma",
                                                      "free", "constrained", "main", "multilabel", "random",
                                                      "uniform", "fixed", "faithful", "canonical", "reverse")))
        return FlagCase((f"{flag}={value}",), rf"argument {flag}: invalid choice: '{re.escape(value)}'")
    if kind == "unknown":
        name = draw(st.text(alphabet="abcdefghij-", min_size=3, max_size=12).filter(lambda s: s[0] != "-"))
        return FlagCase((f"--zz{name}", "1"), r"unrecognized arguments: --zz")
    if kind == "sources":
        which = draw(st.sampled_from(["none", "both"]))
        return FlagCase((), r"one of the arguments --data --dataset is required" if which == "none"
                        else r"argument --dataset: not allowed with argument --data", source=which)
    if kind == "http":
        sub = draw(st.sampled_from(["no_url", "scheme", "key"]))
        if sub == "no_url":
            return FlagCase(("--backend", "http"), r"--backend http needs a server; pass --base-url")
        if sub == "scheme":
            url = draw(st.sampled_from(["ftp://x", "localhost:8000", "127.0.0.1", "htp://a", "//host"]))
            return FlagCase(("--backend", "http", f"--base-url={url}"), r"does not start with http:// or https://",
                            real_backend=True)  # the backend checks the URL (before any request)
        var = "LD_UNSET_" + draw(st.text(alphabet="ABCXYZ", min_size=1, max_size=6))
        return FlagCase((*http, "--api-key-env", var), rf"environment variable {var} \(from --api-key-env\) is not set")
    if kind == "paths":
        sub = draw(st.sampled_from(["data_missing", "data_dir", "demos_missing", "out_file", "out_below_file"]))
        if sub == "data_missing":
            return FlagCase(("--data", "<missing>"), r"does not exist or is not a file; check the path", source="none")
        if sub == "data_dir":
            return FlagCase(("--data", "<dir>"), r"does not exist or is not a file", source="none")
        if sub == "demos_missing":
            return FlagCase(("--demos", "<missing>", "--shots", "1"), r"file not found: .*; check the path")
        if sub == "out_file":
            return FlagCase(("--out", "<file>"), r"run directory .* is a file; choose a new --out directory")
        return FlagCase(("--out", "<file>/run"), r"run directory .* is inside .*, which is a file; choose a new --out")
    if kind == "prompt":
        sub = draw(st.sampled_from(["template", "methods", "no_methods", "shots", "split"]))
        if sub == "template":
            t = draw(st.sampled_from(["no text", "{text}", "{label} {text}", "Input: {txt}\n{label}"]))
            return FlagCase((f"--template={t}",), r"must contain \{text\} followed by \{label\}")
        if sub == "methods":
            m = draw(words.filter(lambda w: w not in ("generation", "unary", "binary")))
            return FlagCase((f"--methods={m}",), rf"unknown method group '{re.escape(m)}'")
        if sub == "no_methods":
            return FlagCase((f"--methods={draw(st.sampled_from(['', ',', ' , ,']))}",), r"no methods selected")
        if sub == "shots":
            k = draw(st.integers(2, 10**6))
            return FlagCase((f"--shots={k}",), rf"{k} demonstrations requested but only 1 labelled training")
        split = draw(words.filter(lambda w: w not in ("test", "train")))
        return FlagCase((f"--split={split}",), rf"has no split '{re.escape(split)}'")
    if kind == "layout":
        args, expect = draw(bad_flag_cases())
        if "<dataset>" in args:  # a layout flag with --dataset
            return FlagCase(tuple(a for a in args if a != "<dataset>"), expect, source="dataset")
        return FlagCase(tuple(args), expect, source="data_nolabels" if any(a.startswith("--labels") for a in args)
                        else "data")
    if kind == "chat":
        return FlagCase(("--chat", "--no-chat"), r"argument --no-chat: not allowed with argument --chat")
    name = draw(st.sampled_from(["gpt-17", "llama-zz", "/nonexistent/model.gguf", "qwen2.5-0.5"]))
    return FlagCase((f"--model={name}",), r"unknown model|does not exist", real_backend=True)


def flag_argv(case: FlagCase, good: Path, tmp: Path, out: Path) -> list[str]:
    def fill(a: str) -> str:
        return (a.replace("<missing>", str(tmp / "missing.jsonl")).replace("<dir>", str(tmp))
                .replace("<file>", str(tmp / "a_file.txt")))

    base = ["run", "--shots", "0", "--quiet", "--model", "smollm2-135m"]
    if not case.default_out and not any(a.startswith("--out") for a in case.extra):
        base += ["--out", str(out)]
    if case.source in ("data", "both"):
        base += ["--data", str(good), "--labels", "joy,anger"]
    elif case.source == "data_nolabels":
        base += ["--data", str(good)]
    if case.source in ("both", "dataset"):
        base += ["--dataset", "mfrc"]
    return base + [fill(a) for a in case.extra]


# ------------------------------------------------------------------------------------------ API
@dataclass(frozen=True)
class ApiCase:
    name: str
    make: Callable  # (tmp, out, backend) -> zero-argument call
    expect: str


def _examples(*pairs):
    from labeldist.records import Example

    return [Example(i, t) for i, t in pairs]


def _labels(spec="joy,anger"):
    from labeldist.records import LabelSet

    return LabelSet.parse(spec)


def _run(examples, labels, out, backend, **kw):
    from labeldist import api

    return lambda: api.run(examples() if callable(examples) else examples,
                           labels() if callable(labels) else labels, out, backend=backend, progress=False, **kw)


def _config(**kw):
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.runs.runner import RunConfig

    prompt = {"shots": 0, **kw.pop("prompt", {})}
    return RunConfig(**{"model": "tiny", "methods": ("generation",), **kw}, prompt=PromptConfig(**prompt))


junk = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=6), st.binary(max_size=4),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@st.composite
def api_cases(draw) -> ApiCase:
    kind = draw(st.sampled_from(["examples_type", "example_item", "ids", "duplicate", "empty_text", "label_set",
                                 "label_spec", "config_type", "batch_size", "seed", "pairs", "config_names",
                                 "prompt_values", "out_dir", "no_examples", "overlap"]))
    ok = (("a1", "I won the lottery!"), ("a2", "This is outrageous."))
    if kind == "examples_type":
        value = draw(st.one_of(st.none(), st.integers(), st.text(min_size=1, max_size=8), st.binary(min_size=1, max_size=4)))
        return ApiCase(f"examples={value!r}", lambda tmp, out, b: _run(value, _labels, out, b, config=_config()),
                       r"examples must be a sequence of Example objects")
    if kind == "example_item":
        value = draw(junk)
        return ApiCase(f"examples=[Example, {value!r}]",
                       lambda tmp, out, b: _run(lambda: _examples(ok[0]) + [value], _labels, out, b, config=_config()),
                       r"examples\[1\] is a \w+, not an Example")
    if kind == "ids":
        bad = draw(st.one_of(st.sampled_from(["", " ", "\t\n"]), st.none(), st.integers(), st.floats(allow_nan=False),
                             st.binary(max_size=3), st.tuples(st.integers())))
        return ApiCase(f"id={bad!r}", lambda tmp, out, b: _run(lambda: _examples(ok[0], (bad, "some text")), _labels,
                                                                out, b, config=_config()),
                       r"examples\[1\] has id .*; ids must be non-empty strings")
    if kind == "duplicate":
        i = draw(st.text(alphabet="abc12", min_size=1, max_size=5))
        return ApiCase(f"duplicate id {i!r}", lambda tmp, out, b: _run(lambda: _examples((i, "one"), ok[1], (i, "two")),
                                                                       _labels, out, b, config=_config()),
                       rf"duplicate example id '{re.escape(i)}'")
    if kind == "empty_text":
        t = draw(st.one_of(st.text(alphabet=" \t\n\r", max_size=4), st.none(), st.integers()))
        return ApiCase(f"text={t!r}", lambda tmp, out, b: _run(lambda: _examples(ok[0], ("e", t)), _labels, out, b,
                                                               config=_config()),
                       r"example 'e' has an empty text; remove it or fill in its text")
    if kind == "label_set":
        value = draw(st.one_of(st.just("joy,anger"), st.lists(st.sampled_from(["joy", "anger"]), max_size=2), st.none(),
                               st.integers()))
        return ApiCase(f"label_set={value!r}", lambda tmp, out, b: _run(lambda: _examples(*ok), value, out, b,
                                                                       config=_config()),
                       r"label_set must be a labeldist LabelSet")
    if kind == "label_spec":
        spec = draw(st.sampled_from(["", ",", "joy,Joy", "joy,none", "joy, ,anger", "a,b,a", "NONE"]))
        return ApiCase(f"LabelSet.parse({spec!r})",
                       lambda tmp, out, b: _run(lambda: _examples(*ok), lambda: _labels(spec), out, b, config=_config()),
                       r"empty label set|empty label name|duplicate label|reserved")
    if kind == "config_type":
        value = draw(st.one_of(st.dictionaries(st.text(max_size=4), st.integers(), min_size=1, max_size=2),
                               st.text(min_size=1, max_size=5), st.integers(min_value=1)))
        return ApiCase(f"config={value!r}", lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b, config=value),
                       r"config must be a labeldist RunConfig")
    if kind == "batch_size":
        bs = draw(st.one_of(st.integers(-10**6, 0), st.floats(0.1, 99.5), st.text(alphabet="0123", min_size=1, max_size=3),
                            st.booleans()))
        return ApiCase(f"batch_size={bs!r}", lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                                      config=_config(batch_size=bs)),
                       r"batch size \(--batch-size\) must be an integer >= 1")
    if kind == "seed":
        seed = draw(st.one_of(st.integers(-10**9, -1), st.sampled_from([0.5, 2.5, float("nan"), "3", b"1", True])))
        return ApiCase(f"seed={seed!r}", lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                                  config=_config(prompt={"seed": seed})),
                       r"seed \(--seed\) must be an integer >= 0")
    if kind == "pairs":
        k = draw(st.integers(-100, 0))
        return ApiCase(f"max_binary_pairs={k}", lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                                         config=_config(max_binary_pairs=k)),
                       r"--max-binary-pairs must be an integer >= 1")
    if kind == "config_names":
        field_, value = draw(st.sampled_from(["methods", "backend", "dtype", "decoding", "breakdown_token_form"])), draw(words)
        expect = {"methods": r"unknown method group", "backend": r"unknown backend", "dtype": r"unknown dtype",
                  "decoding": r"unknown decoding", "breakdown_token_form": r"unknown token form"}[field_]
        if field_ == "methods":
            value = (value,)
            if value[0] in ("generation", "unary", "binary"):
                value = ("zz" + value[0],)
        elif value in ("hf", "http", "auto", "bf16", "fp32", "constrained", "free", "fixed", "faithful"):
            value = "zz" + value
        return ApiCase(f"RunConfig({field_}={value!r})",
                       lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                config=_config(**{field_: value})), expect)
    if kind == "prompt_values":
        field_ = draw(st.sampled_from(["shots", "max_new_tokens", "label_order", "demo_sampling"]))
        value = {"shots": draw(st.integers(-10**6, -1)), "max_new_tokens": draw(st.integers(-10**6, 0)),
                 "label_order": "zz" + draw(words), "demo_sampling": "zz" + draw(words)}[field_]
        expect = {"shots": r"--shots must be >= 0", "max_new_tokens": r"--max-new-tokens must be at least 1",
                  "label_order": r"unknown label order", "demo_sampling": r"unknown demo sampling"}[field_]
        return ApiCase(f"PromptConfig({field_}={value!r})",
                       lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                config=_config(prompt={field_: value})), expect)
    if kind == "out_dir":
        sub = draw(st.sampled_from(["file", "below_file", "empty", "none", "int"]))

        def make(tmp, out, b, sub=sub):
            f = tmp / "a_file.txt"
            f.write_text("x")
            target = {"file": f, "below_file": f / "x" / "run", "empty": "", "none": None, "int": 7}[sub]
            return _run(lambda: _examples(*ok), _labels, target, b, config=_config())

        return ApiCase(f"out_dir<{sub}>", make, r"run directory|must be a path")
    if kind == "no_examples":
        value = draw(st.sampled_from([[], (), iter(())]))
        return ApiCase(f"examples={type(value).__name__}()",
                       lambda tmp, out, b: _run(value, _labels, out, b, config=_config()), r"no examples to classify")
    return ApiCase("demos overlap", lambda tmp, out, b: _run(lambda: _examples(*ok), _labels, out, b,
                                                            config=_config(prompt={"shots": 1}),
                                                            demo_pool=_demo_overlap()),
                   r"overlap the test items")


def _demo_overlap():
    from labeldist.records import Example

    return [Example("a1", "I won the lottery!", gold=("joy",))]


# ------------------------------------------------------------------------------------------ the campaign
def _distinct_draws(strategy, n: int, use: Callable) -> None:
    """Call ``use(case)`` on generated cases until it has accepted ``n`` distinct ones (it returns a key or None)."""
    seen: set[str] = set()

    @settings(max_examples=n * 4, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(case=strategy)
    def draw(case):
        if len(seen) >= n:
            return
        key = use(case, seen)
        if key is not None:
            seen.add(key)

    draw()


def campaign(main: Callable, backend, tmp: Path, *, n_file: int, n_flag: int, n_api: int) -> CampaignResult:
    """Run distinct generated cases of every source; ``main`` is ``labeldist.cli.main.main`` (a backend patched in)."""
    from labeldist import api

    res = CampaignResult()
    tmp.mkdir(parents=True, exist_ok=True)
    counter = itertools.count()
    good = tmp / "good.jsonl"
    good.write_text(GOOD_ROWS)
    cwd = os.getcwd()

    def fresh() -> Path:
        os.chdir(tmp)
        d = tmp / f"c{next(counter)}"
        d.mkdir()
        os.chdir(d)  # a default `runs/` directory would appear here
        return d

    def done(d: Path) -> None:
        os.chdir(tmp)
        shutil.rmtree(d, ignore_errors=True)

    def record(source: str, desc: str, why: str) -> None:
        res.tried[source] += 1
        if why:
            res.fell_short.append(Outcome(source, desc, False, why))

    try:
        def use_file(case, seen):
            key = case.key()
            if key in seen:
                return None
            d = fresh()
            path, out = case.write(d), d / "run"
            argv = ["run", "--data", str(path), "--out", str(out), "--model", "smollm2-135m", "--shots", "0",
                    *case.cli_args()]
            why = check_cli(main, argv, case.expect, out, d, names=str(path))
            record("file", f"{case.defect} ({case.fmt}, {case.kind})", why)
            done(d)
            return key

        def use_flag(case, seen):
            d = fresh()
            (d / "a_file.txt").write_text("x")
            out = d / "run"
            argv = flag_argv(case, good, d, out)
            key = repr(argv[1:]).replace(str(d), "<tmp>")
            if key in seen:
                done(d)
                return None
            real = api.load_backend
            if case.real_backend:
                from labeldist.backends import load_backend as real_loader

                api.load_backend = real_loader
            try:
                why = check_cli(main, argv, case.expect, out, d)
            finally:
                api.load_backend = real
            record("flag", " ".join(argv[1:]).replace(str(d), "<tmp>"), why)
            done(d)
            return key

        def use_api(case, seen):
            if case.name in seen:
                return None
            d = fresh()
            out = d / "run"
            try:
                call = case.make(d, out, backend)
            except LabeldistError as e:  # bad input refused while building the arguments (e.g. Example(...))
                why = check_message(str(e), case.expect)
            except BaseException as e:  # noqa: BLE001
                why = f"building the call raised {type(e).__name__}: {e}"
            else:
                why = check_api(call, case.expect, out)
            record("api", case.name, why)
            done(d)
            return case.name

        _distinct_draws(malformed_cases(), n_file, use_file)
        _distinct_draws(flag_cases(), n_flag, use_flag)
        _distinct_draws(api_cases(), n_api, use_api)
    finally:
        os.chdir(cwd)
    return res

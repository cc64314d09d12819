"""The HTTP backend against a real llama.cpp server (``xllamacpp``, in-process, SmolLM2 GGUF).

The server runs on 127.0.0.1 on a free port for the whole module. Its label
log-probabilities are compared with the transformers backend (fp32) by token id: the GGUF
is Q4_1 and llama.cpp multiplies with 8-bit-quantised activations, so they agree to
~0.1-0.3 nats, not exactly. Error paths that need a misbehaving server use a small stub
server from the standard library.
"""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from labeldist.backends.base import PromptIds
from labeldist.errors import LabeldistError

pytestmark = pytest.mark.slow

FIX = Path(__file__).parent / "fixtures"
LABELS = "joy,anger,surprise"
ROWS = [
    ("t1", "I won the lottery, amazing!", [["joy"], ["joy", "surprise"], ["surprise"]], "test"),
    ("t2", "This is outrageous, I'm so mad.", [["anger"], ["anger"], []], "test"),
    ("t3", "The bus is late again.", [["anger"], [], []], "test"),
    ("t4", "Wow, I did not see that coming at all.", [["surprise"], ["surprise"], ["joy", "surprise"]], "test"),
    ("r1", "What a beautiful morning.", [["joy"], ["joy"]], "train"),
    ("r2", "You scared me half to death!", [["surprise", "anger"], ["surprise"]], "train"),
    ("r3", "I can't believe you did that to me.", [["anger"], ["anger", "surprise"]], "train"),
    ("r4", "Best birthday ever, thank you all!", [["joy", "surprise"], ["joy", "surprise"]], "train"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    xlc = pytest.importorskip("xllamacpp")
    from labeldist.backends.models import MODELS, gguf_path

    p = xlc.CommonParams()
    p.model.path = str(gguf_path(MODELS["smollm2-135m"]))
    p.hostnames = ["127.0.0.1"]
    p.port = free_port()
    p.n_parallel = 4
    p.n_ctx = 4 * 2048  # 2048 per slot
    # One thread: ggml's worker threads spin-wait on each other, which stalls badly when the
    # (shared, 2-core) machine is busy; one thread is slower when idle but never stalls.
    p.cpuparams.n_threads = 1
    p.cpuparams_batch.n_threads = 1
    p.verbosity = 0  # the server logs every request to stderr otherwise
    srv = xlc.Server(p)
    url = srv.listening_address
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail(f"llama.cpp server at {url} did not become healthy")
    yield url
    del srv
    gc.collect()


@pytest.fixture(scope="module")
def http_backend(server_url):
    from labeldist.backends.http import HTTPBackend

    b = HTTPBackend("smollm2-135m", base_url=server_url, concurrency=4)
    yield b
    b.close()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("data") / "emo.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t, "annotations": a, "split": s}) + "\n" for i, t, a, s in ROWS))
    return p


@pytest.fixture(scope="module")
def dataset(data_file):
    from labeldist.data import read_annotated_file

    return read_annotated_file(data_file, labels=LABELS)


def classifier(backend, dataset, **prompt):
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.runs.runner import Classifier, RunConfig

    config = RunConfig(model="smollm2-135m", backend="http", prompt=PromptConfig(shots=2, **prompt), batch_size=2)
    return Classifier(backend, dataset.label_set, config, list(dataset.split("train")))


def reference_logprobs(hf, prompts):
    """Full-vocabulary log-softmax of the transformers backend, shape (n_prompts, vocab)."""
    logits, _ = hf.score_next(prompts, candidate_ids=list(range(len(hf.tokenizer))))
    m = logits.max(axis=1, keepdims=True)
    return logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))


def label_prompts(clf, texts):
    """Prompts ending right where the model writes its first label (after '{"label": ["')."""
    tail = tuple(clf.backend.tokenizer.encode('{"label": ["'))
    return [PromptIds(p.segments[:-1] + (p.segments[-1] + tail,)) for p in (clf.prompter.build(t) for t in texts)]


# -- start-up --------------------------------------------------------------------------------
def test_startup_checks_and_records_modes(http_backend, server_url):
    x = http_backend.info.extra
    assert http_backend.info.backend == "http" and x["server"] == "llamacpp"
    assert x["missing_candidates"] == "logit_bias"  # probed: forcing reproduces a top-k value
    assert abs(x["exact_probe"]["exact_logprob"] - x["exact_probe"]["top_k_logprob"]) < 1e-3
    assert x["tokenize_check"] == f"{server_url}: ok"
    assert http_backend.context_length == 2048 and http_backend.eos_ids == frozenset({2})


# -- numbers against transformers -------------------------------------------------------------------
def test_label_logprobs_agree_with_transformers(http_backend, smol_backend, dataset):
    clf = classifier(http_backend, dataset)
    texts = [e.text for e in dataset.split("test")]
    prompts = label_prompts(clf, texts)
    cand = clf.token_map.flat_ids
    scores, bounded = http_backend.score_next(prompts, candidate_ids=cand)
    assert not bounded.any()  # every candidate scored exactly (forced where outside the top-20)
    ref = reference_logprobs(smol_backend, prompts)[:, cand]
    diff = np.abs(scores - ref)
    likely = ref > -6
    assert diff[likely].max() < 0.35 and np.median(diff) < 0.15, (diff.max(), np.median(diff))
    assert diff.max() < 0.6  # far tail (log-probabilities down to about -25)
    # the label distribution the estimators see (softmax over the canonical tokens)
    canon = [v[0] for v in clf.token_map.variants]
    cols = [cand.index(t) for t in canon]

    def softmax(z):
        return np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)

    np.testing.assert_allclose(softmax(scores[:, cols]), softmax(ref[:, cols]), atol=0.1)


def test_generation_agrees_with_transformers(http_backend, smol_backend, dataset):
    clf = classifier(http_backend, dataset)
    prompts = [clf.prompter.build(e.text) for e in dataset.split("test")[:3]]
    cand = clf.token_map.flat_ids
    kw = dict(candidate_ids=cand, max_new_tokens=12, stop=clf.prompter.stop)
    gens = http_backend.generate(prompts, **kw)
    refs = smol_backend.generate(prompts, **kw)
    same = [g.ids == r.ids for g, r in zip(gens, refs)]
    assert sum(same) >= 2, [(http_backend.tokenizer.decode(g.ids), smol_backend.tokenizer.decode(r.ids)) for g, r in zip(gens, refs)]
    lookup = clf.token_map.token_to_candidate()
    n_label_steps = n_bounded_checked = 0
    for p, g, r, ok in zip(prompts, gens, refs, same):
        assert g.candidate_scores.shape == (len(g.ids), len(cand)) and g.bounded.shape == g.candidate_scores.shape
        if not ok:
            continue
        assert g.stop_reason == r.stop_reason
        for t, tok in enumerate(g.ids):
            is_label = tok in lookup
            if not is_label and (n_bounded_checked >= 4 or not g.bounded[t].any()):
                continue
            # the prompt stays a cached segment of the transformers backend; only the generated part is new
            ref = reference_logprobs(smol_backend, [PromptIds(p.segments + (tuple(g.ids[:t]),))])[0, cand]
            if is_label:  # a label step: every candidate scored exactly, close to transformers
                n_label_steps += 1
                assert not g.bounded[t].any()
                assert np.abs(g.candidate_scores[t] - ref)[ref > -6].max() < 0.35, (t, g.candidate_scores[t] - ref)
            else:  # other steps: absent candidates are upper bounds at or above the true value
                n_bounded_checked += 1
                b = g.bounded[t]
                # (tolerance as for tail values above: the two implementations differ by up to ~0.5 there)
                assert np.all(g.candidate_scores[t][b] >= ref[b] - 0.6), (t, g.candidate_scores[t][b] - ref[b])
    assert n_label_steps >= 2, n_label_steps


def test_constrained_generation_agrees_with_transformers(http_backend, smol_backend, dataset):
    clf = classifier(http_backend, dataset)
    assert clf.constrained
    texts = [e.text for e in dataset.split("test")]
    prompts = [clf.build_prompt(t) for t in texts]
    kw = dict(candidate_ids=clf.token_map.flat_ids, max_new_tokens=clf.max_new_tokens, constraint=clf.grammar)
    gens = http_backend.generate(prompts, **kw)
    refs = smol_backend.generate(prompts, **kw)
    for g in gens:  # every item answers, inside the grammar
        assert g.stop_reason == "grammar" and g.slots[0]
        st = clf.grammar.initial()
        for t in g.ids:
            st = clf.grammar.advance(st, t)
        assert clf.grammar.done(st)
    same = [g.ids == r.ids for g, r in zip(gens, refs)]
    assert sum(same) >= 3, [(http_backend.tokenizer.decode(g.ids), smol_backend.tokenizer.decode(r.ids))
                            for g, r in zip(gens, refs)]
    for g, r, ok in zip(gens, refs, same):
        if not ok:
            continue
        np.testing.assert_array_equal(g.slots, r.slots)
        np.testing.assert_array_equal(g.forced, r.forced)
        for t in np.flatnonzero(g.slots & ~g.forced):  # label slots: exact scores, close to transformers
            assert not g.bounded[t].any()
            ref = r.candidate_scores[t] - np.log(np.exp(r.candidate_scores[t]).sum())  # to log-softmax over candidates
            got = g.candidate_scores[t] - np.log(np.exp(g.candidate_scores[t]).sum())
            diff = np.abs(got - ref)[ref > -6]
            # Q4_1 vs fp32 (module docstring); llama.cpp's batched slots move values by a few hundredths
            # between runs (0.350 seen on a fresh clone), so the max gets headroom and the median stays tight
            assert diff.max() < 0.4 and np.median(diff) < 0.2, (diff.max(), np.median(diff))
            assert abs(g.outside_mass[t] - r.outside_mass[t]) < 0.1


def test_bound_mode_marks_and_bounds(server_url, smol_backend, dataset):
    from labeldist.backends.http import HTTPBackend

    b = HTTPBackend("smollm2-135m", base_url=server_url, concurrency=2, top_logprobs=3, missing="bound")
    try:
        assert b.info.extra["missing_candidates"] == "bound"
        clf = classifier(b, dataset)
        prompts = label_prompts(clf, [e.text for e in dataset.split("test")[:2]])
        cand = clf.token_map.flat_ids
        scores, bounded = b.score_next(prompts, candidate_ids=cand)
        assert bounded.any() and not bounded.all()
        ref = reference_logprobs(smol_backend, prompts)[:, cand]
        assert np.all(scores[bounded] >= ref[bounded] - 0.6)  # an upper bound (up to numerics), never a silent zero
        assert np.all(scores[bounded] < 0)
        assert b.stats["exact_requests"] == 0
    finally:
        b.close()


def test_token_level_methods_and_marginal_search_agree_with_transformers(http_backend, smol_backend, dataset):
    """conditional, joint and the marginal search from what the server returns (one-token requests, top-k
    plus exact scores of the allowed tokens), against the same run on the transformers backend."""
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.runs.runner import Classifier, RunConfig, run_examples

    examples = list(dataset.split("test"))[:2]
    out = {}
    for name, b in (("http", http_backend), ("hf", smol_backend)):
        config = RunConfig(model="smollm2-135m", backend=name, methods=("generation", "marginal"),
                           prompt=PromptConfig(shots=2), batch_size=2)
        clf = Classifier(b, dataset.label_set, config, list(dataset.split("train")))
        out[name], _ = run_examples(clf, examples, progress=False)
    for a, r in zip(out["http"], out["hf"]):
        m = a.marginal
        lower, est, upper = (np.array(x) for x in (m.lower, m.estimate, m.upper))
        assert np.all(lower <= est + 1e-9) and np.all(est <= upper + 1e-9) and m.nodes_expanded >= 1
        assert m.bounded_values == 0  # exact scores were asked for every allowed token
        # Q4_1 on the server vs dequantised fp32 here (module docstring): measured differences are up to 0.03
        assert np.abs(est - np.array(r.marginal.estimate)).max() < 0.1, (est, r.marginal.estimate)
        if a.generation.ids == r.generation.ids:  # same greedy answer: same spans, close token probabilities
            assert [s.label for s in a.generation.label_spans] == [s.label for s in r.generation.label_spans]
            for meth in ("conditional", "joint"):
                assert np.abs(np.array(a.methods[meth]) - np.array(r.methods[meth])).max() < 0.1


# -- end to end through the CLI ------------------------------------------------------------------------
def _argv(data, out, url, *extra):
    return ["run", "--data", str(data), "--labels", LABELS, "--model", "smollm2-135m", "--backend", "http",
            "--base-url", url, "--shots", "2", "--out", str(out), "--quiet", "--batch-size", "4", *extra]


def test_cli_run_end_to_end_and_resume(server_url, data_file, tmp_path, capsys):
    from labeldist.cli.main import main
    from labeldist.runs.store import iter_records, read_manifest

    out = tmp_path / "run"
    assert main(_argv(data_file, out, server_url, "--methods", "generation,unary", "--concurrency", "4")) == 0
    printed = capsys.readouterr().out
    assert "examples/s" in printed
    man = read_manifest(out)
    assert man.model.backend == "http" and man.model.extra["missing_candidates"] == "logit_bias"
    assert man.methods == ["first_step", "compare_to_none", "hard", "max_over_generations", "conditional", "joint", "unary"]
    recs = list(iter_records(out))
    assert sorted(r.id for r in recs) == ["t1", "t2", "t3", "t4"]
    for r in recs:
        for m in man.methods:
            p = np.asarray(r.methods[m])
            assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
        assert r.generation.ids and r.generation.text
        assert r.unary.bounded_scores == 0  # next-token scores are all exact
        assert r.unary.scored_values > 0
        assert r.generation.diagnostics.bounded_scores == 0  # exact at every step the estimators read
        for s in r.steps:
            assert r.generation.ids[s.position] == s.token_id
    assert any(r.steps for r in recs)
    # rerun: everything resumes from the records, nothing is asked again
    assert main(_argv(data_file, out, server_url, "--methods", "generation,unary")) == 0
    assert "0 new, 4 already done" in capsys.readouterr().out


def test_cli_breakdown_binary(server_url, data_file, tmp_path):
    from labeldist.cli.main import main
    from labeldist.runs.store import iter_records

    out = tmp_path / "bin"
    assert main(_argv(data_file, out, server_url, "--methods", "binary", "--n", "2")) == 0
    recs = list(iter_records(out))
    assert len(recs) == 2
    for r in recs:
        p = np.asarray(r.methods["binary"])
        assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
        assert len(r.binary.pairs) == 12 and r.binary.bounded_scores == 0  # 6 pairs, both orders (default)


def test_failed_items_write_no_record_and_resume(http_backend, dataset, tmp_path, monkeypatch):
    from labeldist import api
    from labeldist.backends.http_protocol import ResponseError
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.runs.runner import RunConfig
    from labeldist.runs.store import iter_records

    config = RunConfig(model="smollm2-135m", backend="http", prompt=PromptConfig(shots=2, max_new_tokens=8), batch_size=1)
    examples = list(dataset.split("test"))
    real = http_backend.generate
    calls = []

    def flaky(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise ResponseError("malformed response body: injected")
        return real(*a, **k)

    monkeypatch.setattr(http_backend, "generate", flaky)
    out = tmp_path / "r"
    with pytest.raises(LabeldistError, match="injected"):
        api.run(examples, dataset.label_set, out, config=config, demo_pool=list(dataset.split("train")),
                backend=http_backend, progress=False)
    assert len(list(iter_records(out))) == 1  # the failed item (and later ones) left no record
    monkeypatch.setattr(http_backend, "generate", real)
    res = api.run(examples, dataset.label_set, out, config=config, demo_pool=list(dataset.split("train")),
                  backend=http_backend, progress=False)
    assert res.summary.n_resumed == 1 and res.summary.n_new == 3


# -- bad input -------------------------------------------------------------------------------------------
def test_server_down_is_a_clean_error(data_file, tmp_path, capsys):
    from labeldist.cli.main import main

    url = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "never"
    t0 = time.perf_counter()
    assert main(_argv(data_file, out, url, "--methods", "generation")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot reach {url}/v1/models" in err and "gave up after 6 attempts" in err
    assert "--base-url" in err and not out.exists()
    assert time.perf_counter() - t0 < 30


def test_wrong_url_path_and_wrong_model(server_url, data_file, tmp_path, capsys):
    from labeldist.backends.http import HTTPBackend
    from labeldist.cli.main import main

    with pytest.raises(LabeldistError, match="does not exist .*HTTP 404"):
        HTTPBackend("smollm2-135m", base_url=server_url + "/nothing/here", retries=0)
    assert main(_argv(data_file, tmp_path / "x", server_url, "--served-model", "no-such-model")) == 2
    err = capsys.readouterr().err
    assert "does not serve model 'no-such-model'" in err and "SmolLM2-135M-Instruct.Q4_1.gguf" in err


def test_tokenizer_mismatch_is_an_error(server_url):
    from labeldist.backends.http import HTTPBackend

    with pytest.raises(LabeldistError, match="tokenizes differently from the local tokenizer of 'qwen2.5-0.5b'"):
        HTTPBackend("qwen2.5-0.5b", base_url=server_url)


# -- misbehaving servers (stub) ----------------------------------------------------------------------------
class Stub:
    """A tiny OpenAI-like server: /v1/models from the vLLM fixture, /v1/completions scripted."""

    def __init__(self, completions):
        self.completions = completions  # callable(n_call, body) -> (status, bytes)
        self.calls = 0
        self.auth: set[str | None] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, raw):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                stub.auth.add(self.headers.get("Authorization"))
                if self.path == "/v1/models":
                    self._send(200, (FIX / "vllm_models.json").read_bytes())
                else:
                    self._send(404, b'{"detail": "Not Found"}')

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/completions":
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                stub.calls += 1
                stub.auth.add(self.headers.get("Authorization"))
                self._send(*stub.completions(stub.calls, body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def stub_backend(url, **kw):
    from labeldist.backends.http import HTTPBackend

    return HTTPBackend("smollm2-135m", base_url=url, missing="bound", top_logprobs=3, backoff=0.01, **kw)


OK = (200, (FIX / "vllm_completion_token_ids.json").read_bytes())
PROMPT = [PromptIds(((1, 2, 3),))]


def test_stub_retries_429_and_5xx_then_succeeds():
    stub = Stub(lambda n, body: (503, b'{"message": "busy"}') if n == 1 else (429, b"{}") if n == 2 else OK)
    try:
        b = stub_backend(stub.url)
        assert b.flavor == "vllm" and b.info.extra["tokenize_check"].endswith("no /tokenize")
        scores, bounded = b.score_next(PROMPT, candidate_ids=[9523, 1799, 7697])
        assert scores.tolist() == [[-0.05, -3.5, -4.25]] and bounded.tolist() == [[False, False, True]]
        assert b.stats["retries"] == 2
    finally:
        stub.close()


@pytest.mark.parametrize("reply, match", [
    ((200, b"<html>oops</html>"), "malformed response body .*not JSON"),
    ((200, (FIX / "llamacpp_no_logprobs.json").read_bytes()), "returned no logprobs"),
    ((200, b'{"object": "text_completion", "choices": []}'), "malformed response body: no choices"),
    ((400, (FIX / "vllm_error.json").read_bytes()), "HTTP 400.*max allowed: 20.*--max-logprobs"),
    ((503, b'{"message": "overloaded"}'), "HTTP 503: overloaded; gave up after 3 attempts"),
])
def test_stub_bad_bodies_are_one_clear_error(reply, match):
    stub = Stub(lambda n, body: reply)
    try:
        b = stub_backend(stub.url, retries=2)
        with pytest.raises(LabeldistError, match=match) as e:
            b.generate(PROMPT, candidate_ids=[1], max_new_tokens=2)
        assert "\n" not in str(e.value)
    finally:
        stub.close()


def test_stub_round_robin_and_failover():
    a, c = Stub(lambda n, body: OK), Stub(lambda n, body: OK)
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        b = stub_backend(f"{a.url},{c.url}", concurrency=2)
        b.score_next(PROMPT * 8, candidate_ids=[9523])
        assert a.calls == 4 and c.calls == 4  # spread evenly
        # a dead server in the list: /v1/models fails at start-up, naming it
        with pytest.raises(LabeldistError, match=f"cannot reach {dead}/v1/models"):
            stub_backend([a.url, dead], retries=1)
        # ...and a request whose server dies is retried on the next one
        b.client.urls = [dead, a.url]
        before = a.calls
        b.score_next(PROMPT * 2, candidate_ids=[9523])
        assert a.calls == before + 2
    finally:
        a.close()
        c.close()


def test_stub_without_exact_scoring_falls_back_to_bounds():
    from labeldist.backends.http import HTTPBackend

    stub = Stub(lambda n, body: OK)  # ignores logit_bias and echo
    try:
        with pytest.warns(UserWarning, match="supports no exact scoring"):
            b = HTTPBackend("smollm2-135m", base_url=stub.url, top_logprobs=3, backoff=0.01)
        assert b.info.extra["missing_candidates"] == "bound" and set(b.info.extra["exact_probe"]["tried"]) == {"echo", "logit_bias"}
        scores, bounded = b.score_next(PROMPT, candidate_ids=[9523, 8876])
        assert bounded.tolist() == [[False, True]] and scores[0, 1] == -4.25
        with pytest.raises(LabeldistError, match="supports no exact scoring"):
            HTTPBackend("smollm2-135m", base_url=stub.url, top_logprobs=3, backoff=0.01, missing="exact")
    finally:
        stub.close()


def test_api_key_from_environment(monkeypatch):
    from labeldist.cli.main import build_parser
    from labeldist.cli.options import backend_options

    stub = Stub(lambda n, body: OK)
    try:
        argv = ["run", "--data", "x.jsonl", "--backend", "http", "--base-url", stub.url, "--api-key-env", "LD_TEST_KEY"]
        args = build_parser().parse_args(argv)
        with pytest.raises(LabeldistError, match="LD_TEST_KEY"):
            backend_options(args)
        monkeypatch.setenv("LD_TEST_KEY", "sekrit")
        opts = backend_options(args)
        assert opts["base_url"] == [stub.url] and opts["api_key"] == "sekrit"
        stub_backend(stub.url, api_key=opts["api_key"])
        assert stub.auth == {"Bearer sekrit"}
        args = build_parser().parse_args(argv[:3] + ["--backend", "http"])
        with pytest.raises(LabeldistError, match="--base-url"):
            backend_options(args)
    finally:
        stub.close()

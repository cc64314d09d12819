"""Pure request building and response parsing of the HTTP backend, on hand-written JSON.

Fixtures in ``tests/backends/fixtures/`` follow the two shapes servers return: llama.cpp
(``logprobs.content[i].top_logprobs`` with ids and bytes) and vLLM/OpenAI (parallel
``tokens``/``token_logprobs``/``top_logprobs`` lists, token strings or ``token_id:<id>``).
Token ids are SmolLM2's (the ``smol_tokenizer`` fixture).
"""

import json
from pathlib import Path

import pytest

from labeldist.backends.http import normalize_base_urls
from labeldist.backends.http_protocol import (
    ResponseError,
    TokenIndex,
    build_payload,
    card_context_length,
    error_message,
    fill_scores,
    parse_response,
    served_models,
    server_flavor,
    tokenize_ids,
)
from labeldist.errors import LabeldistError

FIX = Path(__file__).parent / "fixtures"


def load(name):
    return json.loads((FIX / name).read_text())


@pytest.fixture(scope="module")
def index(smol_tokenizer):
    return TokenIndex.from_tokenizer(smol_tokenizer)


# -- payloads ----------------------------------------------------------------------------
def test_payload_is_greedy_token_ids_with_top_k():
    body = build_payload((1, 2, 3), model="m", max_tokens=18, top_logprobs=20)
    assert body["prompt"] == [1, 2, 3] and body["model"] == "m"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 18 and body["logprobs"] == 20
    assert "stop" not in body and "echo" not in body and "logit_bias" not in body
    json.dumps(body)  # serialisable


def test_payload_flavors():
    lc = build_payload([5], model=None, max_tokens=1, top_logprobs=7, flavor="llamacpp")
    assert lc["n_probs"] == 7 and lc["post_sampling_probs"] is False and "model" not in lc
    vl = build_payload([5], model="m", max_tokens=1, top_logprobs=7, flavor="vllm")
    assert vl["return_tokens_as_token_ids"] is True
    plain = build_payload([5], model="m", max_tokens=1, top_logprobs=7, flavor="openai")
    assert "return_tokens_as_token_ids" not in plain and "n_probs" not in plain


def test_payload_forced_token_and_echo():
    body = build_payload([5, 6], model="m", max_tokens=1, top_logprobs=1, force_token=8876)
    assert body["logit_bias"] == {"8876": 100.0}
    body = build_payload([5, 6, 8876], model="m", max_tokens=1, top_logprobs=1, echo=True)
    assert body["echo"] is True and body["prompt"][-1] == 8876


# -- token index -------------------------------------------------------------------------
def test_token_index_byte_level(index):
    assert index.byte_level
    assert index.lookup(" joy") == 7697 and index.lookup("joy") == 2641
    assert index.lookup("\n") == 198  # stored as "Ċ"
    assert index.lookup("é") == 2756  # stored as "Ã©"
    assert index.lookup("<|im_end|>") == 2  # special tokens literally
    assert index.lookup(token_bytes=[32, 106, 111, 121]) == 7697
    assert index.lookup(token_bytes=[0xF0, 0x9F]) == 10813  # part of an emoji: only bytes can say which
    assert index.lookup("\ufffd") is None  # a partial character as text is unmappable
    assert index.lookup("token_id:123") == 123


def test_token_index_sentencepiece_and_ambiguity():
    vocab = {"<unk>": 0, "<s>": 1, "▁joy": 2, "joy": 3, "<0x41>": 4, "A": 5, "<0x0A>": 6, "x": 7, "x ": 8, "▁x": 9}
    idx = TokenIndex(vocab, special=["<unk>", "<s>"])
    assert not idx.byte_level
    assert idx.lookup(" joy") == 2 and idx.lookup("joy") == 3
    assert idx.lookup("A") == 5  # a regular token wins over the byte-fallback token
    assert idx.lookup("\n") == 6  # only the byte-fallback token has this byte
    assert idx.lookup(" x") == 9 and idx.lookup("<s>") == 1


def test_token_index_drops_ambiguous():
    # " a" is not byte-level text (a space is stored as "Ġ"), so it is read literally: same bytes as "Ġa".
    idx = TokenIndex({"Ġa": 0, " a": 1, "Ġb": 2, "c": 3})
    assert idx.lookup(" a") is None  # two regular tokens with the same bytes cannot be told apart
    assert idx.lookup(" b") == 2 and idx.lookup("c") == 3


# -- llama.cpp shape ---------------------------------------------------------------------
def test_parse_llamacpp_completion(index):
    comp = parse_response(load("llamacpp_completion.json"), index=index, top_logprobs=3)
    assert [s.token_id for s in comp.steps] == [9523, 2641, 3222, 109, 2]
    assert comp.finish_reason == "stop" and comp.usage["prompt_tokens_details"]["cached_tokens"] == 32
    joy = comp.steps[1]
    assert joy.logprob == -0.3
    assert joy.top == {2641: -0.3, 7697: -1.8, 10485: -2.2}  # " joy" mapped from its bytes (no id given)
    assert joy.kth == -2.2 and joy.n_unmapped == 0
    assert comp.steps[4].top[2] == -0.7


def test_parse_llamacpp_forced(index):
    comp = parse_response(load("llamacpp_forced.json"), index=index, top_logprobs=1)
    step = comp.steps[0]
    assert step.token_id == 8876 and step.logprob == -7.625  # the forced token's raw log-probability
    assert step.kth == -0.3  # the top-1 is another token


def test_parse_llamacpp_without_index_uses_ids():
    comp = parse_response(load("llamacpp_completion.json"), index=None, top_logprobs=3)
    assert comp.steps[1].n_unmapped == 1  # the entry without an id
    assert 7697 not in comp.steps[1].top and comp.steps[1].kth == -2.2


# -- vLLM / OpenAI shape -------------------------------------------------------------------
def test_parse_vllm_token_strings(index):
    comp = parse_response(load("vllm_completion.json"), index=index, top_logprobs=3)
    assert [s.token_id for s in comp.steps] == [9523, 2641, 3222, 109, 198]
    assert comp.finish_reason == "length"
    joy = comp.steps[1]
    assert joy.top == {2641: -0.3, 7697: -1.8} and joy.n_unmapped == 1  # "\ufffd" is unmappable
    assert joy.kth == -2.2  # ...but still counts for the bound
    last = comp.steps[4]
    # vLLM appends the sampled token when it is outside the top-k: k-th value is the 3rd, not the 4th
    assert last.kth == -2.0 and last.top[198] == -2.5 and last.top[2] == -0.7


def test_parse_vllm_token_ids_without_index():
    comp = parse_response(load("vllm_completion_token_ids.json"), index=None, top_logprobs=3)
    assert [s.token_id for s in comp.steps] == [9523, 2641]
    assert comp.steps[1].top == {2641: -0.3, 7697: -1.8, 10485: -2.2}


def test_parse_vllm_echo():
    comp = parse_response(load("vllm_echo.json"), top_logprobs=1, n_prompt=3)
    assert [s.token_id for s in comp.prompt] == [10219, 42, 8876]
    assert comp.prompt[0].logprob is None and comp.prompt[-1].logprob == -7.625
    assert [s.token_id for s in comp.steps] == [198]


# -- errors --------------------------------------------------------------------------------
def test_no_logprobs_is_one_clear_error():
    with pytest.raises(ResponseError, match="returned no logprobs"):
        parse_response(load("llamacpp_no_logprobs.json"), top_logprobs=5)
    body = load("vllm_completion.json")
    body["choices"][0]["logprobs"] = {"tokens": [], "token_logprobs": [], "top_logprobs": []}
    with pytest.raises(ResponseError, match="no logprobs"):
        parse_response(body, top_logprobs=5)


@pytest.mark.parametrize("mutate, match", [
    (lambda b: "not json", "expected a JSON object"),
    (lambda b: {"object": "text_completion"}, "no choices"),
    (lambda b: {**b, "choices": []}, "no choices"),
    (lambda b: b["choices"][0]["logprobs"].__setitem__("content", {"x": 1}) or b, "content is not a list"),
    (lambda b: b["choices"][0]["logprobs"]["content"][1].pop("logprob") and b, "has no logprob"),
    (lambda b: b["choices"][0]["logprobs"]["content"][0].__setitem__("logprob", "high") or b, "not a number"),
])
def test_malformed_llamacpp_bodies(mutate, match):
    with pytest.raises(ResponseError, match=match):
        parse_response(mutate(load("llamacpp_completion.json")), top_logprobs=3)


def test_malformed_vllm_bodies():
    body = load("vllm_completion.json")
    body["choices"][0]["logprobs"]["token_logprobs"].pop()
    with pytest.raises(ResponseError, match="not matching lists"):
        parse_response(body, top_logprobs=3)
    body = load("vllm_completion.json")
    body["choices"][0]["logprobs"]["top_logprobs"][2] = ["not", "a", "dict"]
    with pytest.raises(ResponseError, match="not an object"):
        parse_response(body, top_logprobs=3)
    assert issubclass(ResponseError, LabeldistError)


def test_error_messages_of_both_servers():
    assert "exceeds the available context size" in error_message(load("llamacpp_error.json"))
    assert "max allowed: 20" in error_message(load("vllm_error.json"))
    assert error_message({"detail": "Not Found"}) == "Not Found"


# -- model list / tokenize -------------------------------------------------------------------
def test_model_cards():
    lc = served_models(load("llamacpp_models.json"))[0]
    assert server_flavor(lc) == "llamacpp" and card_context_length(lc) == 2048
    vl = served_models(load("vllm_models.json"))[0]
    assert server_flavor(vl) == "vllm" and card_context_length(vl) == 8192
    assert server_flavor({"id": "x", "owned_by": "sglang"}) == "openai"
    with pytest.raises(ResponseError, match="/v1/models"):
        served_models({"object": "list"})


def test_tokenize_bodies():
    assert tokenize_ids({"tokens": [1, 2, 3]}) == [1, 2, 3]  # llama.cpp
    assert tokenize_ids({"tokens": [{"id": 4, "piece": "a"}]}) == [4]  # llama.cpp with_pieces
    assert tokenize_ids({"count": 2, "max_model_len": 8192, "tokens": [5, 6], "token_strs": None}) == [5, 6]  # vLLM
    with pytest.raises(ResponseError):
        tokenize_ids({"detail": "x"})


def test_base_urls():
    assert normalize_base_urls("http://a:1/v1/") == ["http://a:1"]
    assert normalize_base_urls(["http://a:1,http://b:2", "http://a:1"]) == ["http://a:1", "http://b:2"]
    with pytest.raises(LabeldistError, match="http://"):
        normalize_base_urls("localhost:8000")
    with pytest.raises(LabeldistError, match="no server URL"):
        normalize_base_urls([])


def test_fill_scores_bounds_absent_candidates(index):
    comp = parse_response(load("llamacpp_completion.json"), index=index, top_logprobs=3)
    # candidates: joy, " joy", sur(prise), anger
    scores, bounded = fill_scores(comp.steps[1:2], [2641, 7697, 10485, 8876])
    assert scores.tolist() == [[-0.3, -1.8, -2.2, -2.2]]
    assert bounded.tolist() == [[False, False, False, True]]  # anger: at most the k-th value

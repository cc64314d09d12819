"""Label-token mapping on two real tokenizers (SmolLM2, Qwen2.5), values read off their vocabularies."""

import pytest

from labeldist.errors import LabeldistError
from labeldist.labels.tokens import build_label_token_map, first_token_in_context
from labeldist.records import LabelSet
from labeldist.backends.tokenizer import HFTokenizer
from tests.conftest import encoder

JSON_CONTEXTS = ['\n{"label": ["', '", "']
COMMA_CONTEXTS = ["\n", ", "]


@pytest.mark.parametrize("tok_name", ["smol_tokenizer", "qwen_tokenizer"])
def test_json_format_canonical_token_is_bare_label(request, tok_name):
    tok = request.getfixturevalue(tok_name)
    m = build_label_token_map(LabelSet(("joy", "anger")), HFTokenizer(tok, "t"), JSON_CONTEXTS)
    assert m.candidates == ("joy", "anger", "none")
    # After '["' and after '", "' the label is a bare token (no leading space) in both tokenizers.
    assert m.variants[0][0] == tok.convert_tokens_to_ids("joy")
    assert m.variants[1][0] == tok.convert_tokens_to_ids("anger")
    assert m.variants[2][0] == tok.convert_tokens_to_ids("none")
    # Leading-space and capitalised variants are kept as secondary variants.
    assert tok.convert_tokens_to_ids("Ġnone") in m.variants[2]
    assert tok.convert_tokens_to_ids("None") in m.variants[2]


@pytest.mark.parametrize("tok_name", ["smol_tokenizer", "qwen_tokenizer"])
def test_comma_format_keeps_both_slot_forms(request, tok_name):
    # The reference took only the first-slot token, so later labels ("Ġfear") were invisible.
    tok = request.getfixturevalue(tok_name)
    m = build_label_token_map(LabelSet(("anger", "fear")), HFTokenizer(tok, "t"), COMMA_CONTEXTS)
    assert m.variants[0][:2] == (tok.convert_tokens_to_ids("anger"), tok.convert_tokens_to_ids("Ġanger"))
    assert tok.convert_tokens_to_ids("Ġfear") in m.variants[1][:2]


def test_flat_ids_and_columns_partition(smol_tokenizer):
    m = build_label_token_map(LabelSet(("joy", "anger")), HFTokenizer(smol_tokenizer, "smol"), JSON_CONTEXTS)
    flat = m.flat_ids
    assert [flat[s] for s in m.columns] == [list(v) for v in m.variants]
    assert len(set(flat)) == len(flat)  # no id belongs to two candidates


@pytest.mark.parametrize("tok_name", ["smol_tokenizer", "qwen_tokenizer"])
def test_colliding_first_tokens_is_an_error_naming_both(request, tok_name):
    tok = request.getfixturevalue(tok_name)
    # 'optimism' and 'optimistic' both start with the token 'optim' in both tokenizers.
    with pytest.raises(LabeldistError, match=r"'optimism' and 'optimistic'.*'optim'.*rename one"):
        build_label_token_map(LabelSet(("optimism", "optimistic")), HFTokenizer(tok, "t"), JSON_CONTEXTS)


def test_shared_secondary_variant_is_dropped_not_fatal(smol_tokenizer):
    # SmolLM2: 'sadness' starts with 's', 'surprise' with 'sur'; their capitalised forms share 'S'.
    m = build_label_token_map(LabelSet(("sadness", "surprise")), HFTokenizer(smol_tokenizer, "smol"), JSON_CONTEXTS)
    shared = set(m.variants[0]) & set(m.variants[1])
    assert not shared
    assert m.variants[0][0] == smol_tokenizer.convert_tokens_to_ids("s")
    assert m.variants[1][0] == smol_tokenizer.convert_tokens_to_ids("sur")


def test_first_token_in_context_detects_boundary_merge(smol_tokenizer):
    enc = encoder(smol_tokenizer)
    assert first_token_in_context(enc, '["', "joy") == smol_tokenizer.convert_tokens_to_ids("joy")
    # ' ' + 'x' merges into 'Ġx': the context's ids are not a prefix, so there is no own start.
    assert first_token_in_context(enc, "a ", "x") is None

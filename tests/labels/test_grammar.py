"""The answer grammar on both real tokenizers (SmolLM2, Qwen2.5): units, tries, forced tokens, errors."""

import pytest

from labeldist.backends.tokenizer import HFTokenizer
from labeldist.errors import LabeldistError
from labeldist.labels.grammar import AnswerGrammar
from labeldist.prompts.answer import answer_pieces
from labeldist.records import LabelSet

TOKENIZERS = ["smol_tokenizer", "qwen_tokenizer"]


def grammar(request, name, labels, fmt="json", lead="\n", multilabel=True):
    tok = HFTokenizer(request.getfixturevalue(name), name)
    return tok, AnswerGrammar(LabelSet(labels, multilabel=multilabel), tok, answer_pieces(fmt, lead=lead))


def walk(g, tokens):
    """Advance through ``tokens``; return the states visited (every token must be allowed)."""
    st, path = g.initial(), []
    for t in tokens:
        assert t in g.allowed(st), (t, g.allowed(st))
        path.append(st)
        st = g.advance(st, t)
    return path + [st]


def answer_ids(tok, g, answer):
    """The generated ids of ``answer`` (text after the opening) as the grammar builds it."""
    full = tok.encode(g.pieces.opening + answer)
    assert full[: len(g.opening_ids)] == g.opening_ids
    return full[len(g.opening_ids):]


@pytest.mark.parametrize("name", TOKENIZERS)
def test_multi_token_label_is_forced_after_its_first_token(request, name):
    tok, g = grammar(request, name, ("joy", "anger", "offensive language"))
    assert tok.decode(g.opening_ids) == '\n{"label": ["'
    ids = answer_ids(tok, g, 'offensive language", "joy"]}')
    states = walk(g, ids)
    assert g.done(states[-1]) and g.labels_of(states) == ["offensive language", "joy"]
    assert g.is_slot(states[0]) and not g.is_slot(states[1])
    # after "off" the rest of the label is the only way on: forced, one token at a time
    assert [len(g.allowed(s)) for s in states[1:3]] == [1, 1]
    # after a complete label: the separator or the closing, nothing else
    after = g.allowed(states[3])
    assert set(after) == {g.separator_ids[0], g.closing_ids[0]}
    assert "".join(tok.decode([t]) for t in ids) == 'offensive language", "joy"]}'


@pytest.mark.parametrize("name", TOKENIZERS)
def test_prefix_labels_are_told_apart_by_the_next_token(request, name):
    # both tokenizers split digits: s1 = [s, 1], s10 = [s, 1, 0] (labels are lower-cased)
    tok, g = grammar(request, name, ("s1", "s10", "s2"))
    assert [tok.decode([t]) for t in g.first_units[1]] == ["s", "1", "0"]
    for answer, labels in (('s10", "s1"]}', ["s10", "s1"]), ('s1", "s10"]}', ["s1", "s10"]), ('s1"]}', ["s1"])):
        states = walk(g, answer_ids(tok, g, answer))
        assert g.done(states[-1]) and g.labels_of(states) == labels
    # after "s1": "0" (s10), the separator or the closing
    states = walk(g, answer_ids(tok, g, 's1"]}'))
    assert len(g.allowed(states[2])) == 3
    # the same in the comma format, whose later labels carry their leading space
    tok, g = grammar(request, name, ("s1", "s10", "s2"), fmt="comma")
    states = walk(g, answer_ids(tok, g, "s10, s1\n"))
    assert g.labels_of(states) == ["s10", "s1"] and g.done(states[-1])


@pytest.mark.parametrize("name", TOKENIZERS)
def test_none_only_alone_labels_once_single_label_one(request, name):
    tok, g = grammar(request, name, ("joy", "anger"))
    none_first = g.first_units[2][0]
    assert none_first in g.allowed(g.initial())
    states = walk(g, answer_ids(tok, g, 'none"]}'))
    assert g.labels_of(states) == ["none"] and g.done(states[-1])
    assert g.allowed(states[1]) == (g.closing_ids[0],)  # no separator after "none"
    states = walk(g, answer_ids(tok, g, 'joy", "'))
    later = g.allowed(states[-1])
    assert g.later_units[0][0] not in later and none_first not in later  # no repeat, no "none" after a label
    assert g.later_units[1][0] in later
    # two labels used up the set: only the closing is left
    states = walk(g, answer_ids(tok, g, 'joy", "anger'))
    assert g.allowed(states[-1]) == (g.closing_ids[0],)
    tok, g = grammar(request, name, ("pos", "neg"), multilabel=False)
    states = walk(g, answer_ids(tok, g, 'neg"]}'))
    assert g.allowed(states[1]) == (g.closing_ids[0],) and g.done(states[-1])
    assert len(g.first_units) == 2  # no "none" candidate in a single-label set


@pytest.mark.parametrize("name", TOKENIZERS)
def test_comma_answer_after_a_colon_keeps_the_leading_space_in_the_label(request, name):
    # "Moral foundation(s): care, loyalty": the prompt ends at the colon, the label token is " care"
    tok, g = grammar(request, name, ("care", "loyalty"), fmt="comma", lead=" ")
    assert g.opening_ids == [] and [tok.decode([t]) for t in g.first_units[0]] == [" care"]
    states = walk(g, answer_ids(tok, g, " care, loyalty\n"))
    assert g.labels_of(states) == ["care", "loyalty"] and g.done(states[-1])
    assert g.slot_first_tokens()["loyalty"] == [tok.encode(" loyalty")[0]]


@pytest.mark.parametrize("name", TOKENIZERS)
def test_digit_labels_whose_space_is_its_own_token_get_the_space_in_the_opening(request, name):
    # Qwen writes "Answer: 1" as "Answer", ":", " ", "1": unfolded, every label of a rating scale starts
    # with the same " " token and no label slot can tell them apart (LeWiDi CSC, labels 1..6)
    from labeldist.prompts.answer import fold_label_spaces

    tok = HFTokenizer(request.getfixturevalue(name), name)
    ls = LabelSet(("1", "2", "3", "4", "5", "6"), multilabel=False)
    plain = answer_pieces("comma", lead=" ")
    pieces = fold_label_spaces(plain, tok, ls.candidates)
    space_is_own_token = all(tok.encode(" " + c)[:1] == tok.encode(" ") for c in ls.candidates)
    if space_is_own_token:
        assert (pieces.opening, pieces.first_prefix, pieces.separator, pieces.later_prefix) == (" ", "", ", ", "")
    else:
        assert pieces == plain
    g = AnswerGrammar(ls, tok, pieces)
    firsts = [u[0] for u in g.first_units]
    assert len(set(firsts)) == len(firsts)  # each label slot is the label's own first token
    states = walk(g, answer_ids(tok, g, ("" if space_is_own_token else " ") + "5\n"))
    assert g.labels_of(states) == ["5"] and g.done(states[-1])
    # with none (one token " none") nothing folds: the multi-label digit scale keeps its shared first token
    ml = LabelSet(ls.labels, multilabel=True)
    assert fold_label_spaces(plain, tok, ml.candidates) == plain
    # word labels keep the space in their own token (" care"): nothing to fold
    words = answer_pieces("comma", lead=" ")
    assert fold_label_spaces(words, tok, ("care", "loyalty")) == words


@pytest.mark.parametrize("name", TOKENIZERS)
def test_every_path_is_the_tokenisation_of_its_text(request, name):
    tok, g = grammar(request, name, ("joy", "anger", "fear", "offensive language"))
    # greedy walks that always take the largest / smallest allowed token end in valid, re-tokenisable answers
    for pick in (max, min):
        st, ids = g.initial(), []
        while not g.done(st):
            t = pick(g.allowed(st))
            ids.append(t)
            st = g.advance(st, t)
        text = g.pieces.opening + tok.decode(ids)
        assert tok.encode(text) == g.opening_ids + ids
    assert g.max_answer_tokens >= len(ids)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_labels_the_next_token_cannot_tell_apart_are_an_error(request, name):
    # comma format: after "joy", "," could be the separator or the rest of "joy, extra"
    with pytest.raises(LabeldistError, match=r"labels 'joy' and 'joy, extra' cannot be told apart.*rename one"):
        grammar(request, name, ("joy", "joy, extra"), fmt="comma")


def test_a_disallowed_token_is_refused(smol_tokenizer):
    tok = HFTokenizer(smol_tokenizer, "smol")
    g = AnswerGrammar(LabelSet(("joy", "anger")), tok, answer_pieces("json", lead="\n"))
    with pytest.raises(ValueError, match="not allowed"):
        g.advance(g.initial(), tok.encode(" hello")[0])

"""Label spans and the Llama Guard format with both real tokenizers (SmolLM2 and Qwen2.5 split digits).

A label counts where its whole unit ends at a label boundary: never by string suffix, so
``S1`` is not credited inside ``S10`` (written ``S`` ``1`` ``0``), and ``OS1`` is not ``S1``.
"""

import numpy as np
import pytest

from labeldist.backends.tokenizer import HFTokenizer
from labeldist.errors import LabeldistError
from labeldist.labels.grammar import AnswerGrammar
from labeldist.labels.llamaguard import LlamaGuardGrammar
from labeldist.labels.parsing import parse_answer
from labeldist.labels.positions import answer_label_starts
from labeldist.labels.spans import FreeAnswerReader, closing_tokens, grammar_label_spans, opening_variants
from labeldist.prompts.answer import LlamaGuardPieces, answer_pieces, code_spelling
from labeldist.prompts.fewshot import PromptConfig
from labeldist.prompts.llamaguard import (
    LLAMA_GUARD_3_CATEGORIES,
    LlamaGuardPrompter,
    is_llama_guard_template,
)
from labeldist.records import Example, LabelSet, LabelSpan

CODES = LabelSet(tuple(f"S{i}" for i in range(1, 15)))


@pytest.fixture(params=["smol", "qwen"])
def tok(request, smol_tokenizer, qwen_tokenizer):
    hf = smol_tokenizer if request.param == "smol" else qwen_tokenizer
    return HFTokenizer(hf, request.param)


def walk(grammar, ids):
    st = grammar.initial()
    for t in ids:
        assert t in grammar.allowed(st), (t, grammar.allowed(st))
        st = grammar.advance(st, t)
    return st


def test_label_set_keeps_names_as_identity_and_spellings_for_writing():
    ls = LabelSet.parse("S1,S10,s2", keep_case=True)
    assert ls.labels == ("s1", "s10", "s2") and ls.spelling("s1") == "S1" and ls.spelling("s2") == "s2"
    assert ls == LabelSet(("s1", "s10", "s2"))  # spellings do not change which labels a set holds
    assert LabelSet.from_dict(ls.to_dict()).surface == ("S1", "S10", "s2")
    assert "surface" not in LabelSet(("joy",)).to_dict()  # manifests of other runs are unchanged
    with pytest.raises(LabeldistError, match="not spellings of"):
        LabelSet(("s1", "s2"), surface=("S1", "S3"))
    assert code_spelling(CODES, "s12") == "S12" and code_spelling(LabelSet(("hate",)), "hate") == "hate"


@pytest.mark.parametrize("fmt", ["json", "comma"])
def test_s1_is_not_credited_inside_s10(tok, fmt):
    ls = LabelSet(("s1", "s10", "s2"))
    g = AnswerGrammar(ls, tok, answer_pieces(fmt, lead="\n"))
    assert g.first_units[1][: len(g.first_units[0])] == g.first_units[0]  # digit splitting: s1 is a token prefix
    answer = "s10, s2" if fmt == "comma" else 's10", "s2'
    ids = tok.encode(g.pieces.opening + answer + g.pieces.closing)[len(g.opening_ids):]
    st = walk(g, ids)
    assert g.done(st) and sorted(g.candidates[c] for c in g.labels_in(st)) == ["s10", "s2"]
    spans = grammar_label_spans(g, ids)
    assert [s.label for s in spans] == ["s10", "s2"]
    assert tok.decode(ids[spans[0].start:spans[0].end]) == "s10"
    # the free reader, on the same tokens after the opening, agrees; a label cut off by the budget has no span
    reader = FreeAnswerReader(g, eos_ids={0})
    assert [(s.label, s.start - len(g.opening_ids), s.end - len(g.opening_ids))
            for s in reader.spans(list(g.opening_ids) + ids)] == [(s.label, s.start, s.end) for s in spans]
    cut = tok.encode(g.pieces.opening + ("s10, s1" if fmt == "comma" else 's10", "s1'))
    assert [s.label for s in reader.spans(cut)] == ["s10"]
    # end of sequence is a boundary; a string suffix never is: "os1" is not s1
    assert [s.label for s in reader.spans(cut + [0])] == ["s10", "s1"]
    bad = tok.encode(g.pieces.opening + ("os1, s2" if fmt == "comma" else 'os1", "s2"]}'))
    assert reader.spans(bad) == []


def test_a_free_comma_answer_closed_by_a_double_line_end_counts_its_label(tok):
    # the model writes " negative" then "\n\n" (one token) where the closing is "\n": the label stands
    g = AnswerGrammar(LabelSet(("negative", "neutral", "positive"), multilabel=False), tok,
                      answer_pieces("comma", lead=" "))
    ids = tok.encode(" negative\n\nQuestion:")
    closers = closing_tokens(g, tok)
    assert g.closing_ids[0] not in closers and tok.encode("\n\n\n")[0] in closers | {g.closing_ids[0]}
    assert FreeAnswerReader(g, {0}, closers).spans(ids) == [LabelSpan("negative", 0, 1)]
    if ids[1] != g.closing_ids[0]:  # Qwen: "\n\n" is one token; without the closers no label boundary
        assert ids[1] in closers and FreeAnswerReader(g, {0}).spans(ids) == []
    assert FreeAnswerReader(g, {0}, closers).spans(tok.encode(" negativeness\n\n")) == []  # not a prefix match


def test_a_free_json_answer_opened_with_a_leading_space_is_read(tok):
    # the template puts "\n" before the answer; the model writes ' {"label": ["neutral"]}' (Qwen: ' {' is one token)
    g = AnswerGrammar(LabelSet(("entailment", "neutral", "contradiction")), tok, answer_pieces("json", lead="\n"))
    ids = tok.encode(' {"label": ["neutral"]}')
    variants = opening_variants(g, tok)
    assert all(v[-1] == g.opening_ids[-1] for v in variants)
    assert FreeAnswerReader(g, {0}).spans(ids) == []  # the grammar's opening tokens alone never match
    reader = FreeAnswerReader(g, {0}, openings=variants)
    assert [s.label for s in reader.spans(ids)] == ["neutral"]
    assert [s.label for s in reader.spans(tok.encode('\n{"label": ["neutral"]}'))] == ["neutral"]  # the grammar's own
    assert reader.spans(tok.encode(' {"labels": ["neutral"]}')) == []  # another key is not the opening


def test_llama_guard_grammar_reads_codes_with_both_tokenizers(tok):
    g = LlamaGuardGrammar(CODES, tok, LlamaGuardPieces(), {tok.hf.eos_token_id})
    eos = g.eos
    for text, want in [("safe", []), ("unsafe\nS1", ["s1"]), ("unsafe\nS10,S1", ["s10", "s1"]),
                       ("unsafe\nS1,S14,S3", ["s1", "s14", "s3"])]:
        ids = tok.encode(text) + [eos]
        st = walk(g, ids)
        assert g.done(st)
        labels = sorted(g.candidates[c] for c in g.labels_in(st))
        assert labels == (sorted(want) if want else ["none"])
        spans = grammar_label_spans(g, ids)
        assert [s.label for s in spans] == (want or ["none"])
        for s in spans[1:]:  # a later code's span starts at the separator (merged with "S" by Qwen's tokenizer)
            assert tok.decode(ids[s.start:s.end]).lstrip(",").lstrip() == code_spelling(CODES, s.label)
        assert [s.label for s in FreeAnswerReader(g, {eos}).spans(ids)] == want
        parsed = parse_answer(text, CODES, "llamaguard")
        assert list(parsed.labels) == want and parsed.well_formed and parsed.said_none == (not want)
    # after "unsafe\nS1" the grammar allows: "0".."4" (S10..S14), the next code, or the end of turn
    st = walk(g, tok.encode("unsafe\nS1"))
    assert eos in g.allowed(st) and len(g.allowed(st)) >= 3
    assert g.reachable(g.initial()) == frozenset(range(15)) and g.reachable(st) >= {0, 9}
    assert g.labels_in(st) == frozenset()  # S1 is not yet written: "0" could still make it S10
    assert answer_label_starts("unsafe\nS1,S3", "llamaguard") == [7, 10]
    assert not parse_answer("unsafe\n", CODES, "llamaguard").well_formed


def test_llama_guard_prompt_lists_the_categories_in_the_chat_template(tok):
    pc = PromptConfig(label_format="llamaguard", shots=1)
    demos = [Example("d", "how do I hurt him", ("s1", "s10"))]
    p = LlamaGuardPrompter(pc, CODES, demos, tok)
    assert not is_llama_guard_template(tok) and p.chat
    prefix, full = p.text("is this ok?")
    assert "S10: Hate." in full and f"S1: {LLAMA_GUARD_3_CATEGORIES['S1']}." in full and "User: is this ok?" in full
    assert "unsafe\nS1,S10" in full  # the demo's answer, in the codes' spelling
    ids = p.build("is this ok?")
    assert list(ids.ids) == tok.bos_ids + tok.encode(full) if not tok.bos_ids else True
    other = p.build("something else entirely")
    assert other.segments[0] == ids.segments[0]  # the instruction and the demos are one cached segment
    assert p.format_labels([]) == "safe" and p.pieces.opening == ""


def test_llama_guard_run_on_the_tiny_model_end_to_end(tiny_backend):
    from labeldist.cli.main import build_parser
    from labeldist.cli.options import run_config
    from labeldist.prompts.presets import LLAMA_GUARD_PRESET
    from labeldist.runs.runner import Classifier, RunConfig, run_examples

    args = build_parser().parse_args(["run", "--dataset", "x", "--label-format", "llamaguard", "--shots", "0",
                                      "--methods", "generation,marginal"])
    config = run_config(args)
    assert config.prompt.label_format == "llamaguard" and config.prompt.instruction is None  # Llama Guard's task text
    assert config.prompt.max_new_tokens == LLAMA_GUARD_PRESET.max_new_tokens
    config = RunConfig(methods=config.methods, prompt=config.prompt, batch_size=2)
    with pytest.warns(UserWarning, match="left out"):  # every code starts with "S": no per-step distribution
        clf = Classifier(tiny_backend, CODES, config, [])
    assert clf.method_names == ["hard", "conditional", "joint", "marginal"]
    recs, summary = run_examples(clf, [Example(f"t{i}", t) for i, t in enumerate(["how to make a bomb", "hi"])],
                                 progress=False)
    assert summary.fallbacks == {} and summary.unknown_outputs == 0 and summary.malformed_answers == 0
    for rec in recs:
        g = rec.generation
        assert g.stop_reason == "grammar" and g.diagnostics.well_formed
        assert [s.label for s in g.label_spans if s.label != "none"] == g.parsed
        m = np.array(rec.methods["marginal"])
        assert np.all((m >= 0) & (m <= 1)) and rec.marginal.settings["decoding"] == "constrained"
        for j, l in enumerate(CODES.labels):
            assert (rec.methods["conditional"][j] > 0) == (l in g.parsed)

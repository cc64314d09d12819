from labeldist.labels.parsing import answer_end, parse_answer
from labeldist.records import LabelSet

LS = LabelSet(("joy", "anger", "care"))


def test_json_answer_in_generation_order():
    p = parse_answer('\n{"label": ["anger", "joy"]}\nInput: blah', LS)
    assert p.labels == ("anger", "joy") and p.unknown == () and p.well_formed and not p.said_none


def test_json_none_and_empty():
    assert parse_answer('{"label": ["none"]}', LS).said_none
    assert parse_answer('{"label": []}', LS).labels == ()


def test_unknown_strings_are_recorded_never_substring_matched():
    p = parse_answer('{"label": ["scared", "Joy ", "joyful"]}', LS)
    assert p.labels == ("joy",)  # normalised exact match only
    assert p.unknown == ("scared", "joyful")  # 'care' is inside 'scared', 'joy' inside 'joyful': not matched


def test_truncated_json_reads_quoted_items_and_flags_malformed():
    p = parse_answer('{"label": ["joy", "ang', LS)
    assert p.labels == ("joy",) and not p.well_formed


def test_comma_format_first_line_only():
    p = parse_answer(" anger, care\nInput: joy", LS, "comma")
    assert p.labels == ("anger", "care")
    assert parse_answer("none", LS, "comma").said_none


def test_answer_end():
    assert answer_end('\n{"label": ["joy"]}\nmore', "json") == len('\n{"label": ["joy"]}')
    assert answer_end("  joy, anger\nnext", "comma") == len("  joy, anger")


def test_closing_brace_as_stop_string_is_well_formed_and_empty_list_is_none():
    from labeldist.labels.positions import cut_answer

    text = '\n{"label": []}'  # generation stopped at the stop string "}"
    end = cut_answer(text, ["Input:", "}"], lambda t: answer_end(t, "json"))
    p = parse_answer(text[:end], LS)
    assert p.well_formed and p.said_none and p.labels == ()
    text = '\n{"label": ["joy"]}'
    p = parse_answer(text[: cut_answer(text, ["Input:", "}"], lambda t: answer_end(t, "json"))], LS)
    assert p.well_formed and p.labels == ("joy",) and not p.said_none

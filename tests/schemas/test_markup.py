import pytest

from videogcg.schemas import GroundedPhrase, MarkupError
from videogcg.schemas.markup import parse_bracketed, parse_tagged, render_gcg


def phrase(text, answer, ids=(0,)):
    start = answer.index(text)
    return GroundedPhrase(start=start, end=start + len(text), text=text, object_ids=ids)


ANSWER = "A red square moves left while a blue circle rises."


def test_render_wraps_each_phrase_with_one_seg_in_order():
    phrases = [phrase("A red square", ANSWER, (0,)), phrase("a blue circle", ANSWER, (1, 2))]
    markup = render_gcg(ANSWER, phrases)
    assert markup == "<p> A red square </p> [SEG] moves left while <p> a blue circle </p> [SEG] rises."
    assert markup.count("[SEG]") == len(phrases)


def test_render_then_parse_is_exact():
    phrases = [phrase("A red square", ANSWER), phrase("a blue circle", ANSWER)]
    parsed = parse_tagged(render_gcg(ANSWER, phrases))
    assert parsed.text == ANSWER
    assert [(s.start, s.end, s.text) for s in parsed.spans] == [(p.start, p.end, p.text) for p in phrases]


def test_render_matches_videoglamm_regex_rewrite_of_bracket_form():
    import re

    bracketed = "[A red square](0) moves left while [a blue circle](1, 2) rises."
    theirs = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"<p> \1 </p> [SEG]", bracketed)
    parsed = parse_bracketed(bracketed)
    assert render_gcg(parsed.text, parsed.spans) == theirs
    assert [s.object_ids for s in parsed.spans] == [(0,), (1, 2)]
    assert parsed.phrases()[1].object_ids == (1, 2)


def test_parse_seg_id_form():
    parsed = parse_tagged("The <p> man </p> [SEG:3] holds <p> a dog </p> [SEG:1,4].")
    assert parsed.text == "The man holds a dog."
    assert [(s.text, s.object_ids) for s in parsed.spans] == [("man", (3,)), ("a dog", (1, 4))]
    assert parsed.text[parsed.spans[1].start : parsed.spans[1].end] == "a dog"


@pytest.mark.parametrize(
    "markup, message, position",
    [
        ("<p> a dog </p> runs", r"</p> not followed by \[SEG\]", 14),
        ("<p> a <p> dog </p> [SEG]", "<p> inside an open <p>", 6),
        ("a dog </p> [SEG]", "</p> without <p>", 6),
        ("the <p> dog", "<p> is never closed", 4),
        ("a dog [SEG]", r"\[SEG\] without a phrase", 6),
        ("<p>  </p> [SEG]", "empty phrase", 0),
        ("<p> dog </p> [SEG:x]", "not integers", 13),
    ],
)
def test_malformed_tagged_markup_says_what_and_where(markup, message, position):
    with pytest.raises(MarkupError, match=message) as info:
        parse_tagged(markup)
    assert info.value.position == position
    assert "at character" in str(info.value)


def test_ids_without_a_track_are_errors():
    with pytest.raises(MarkupError, match="object id 5 has no track") as info:
        parse_bracketed("[a dog](0) and [a cat](5)", known_ids={0, 1})
    assert info.value.position == 23
    with pytest.raises(MarkupError, match="object id 9 has no track"):
        parse_tagged("<p> dog </p> [SEG:9]", known_ids={0})


def test_unbalanced_brackets_are_errors():
    with pytest.raises(MarkupError, match="unbalanced"):
        parse_bracketed("[a dog](0) and [a cat")
    with pytest.raises(MarkupError, match="unbalanced"):
        parse_bracketed("a dog] (0)")


def test_overlapping_or_misplaced_spans_cannot_be_rendered():
    square, red_square = phrase("square", ANSWER), phrase("red square", ANSWER)
    with pytest.raises(MarkupError, match="overlaps"):
        render_gcg(ANSWER, [red_square, square])
    wrong = GroundedPhrase(start=2, end=8, text="circle", object_ids=(0,))
    with pytest.raises(MarkupError, match="is not 'circle'"):
        render_gcg(ANSWER, [wrong])
    with pytest.raises(MarkupError, match="already contains"):
        render_gcg("a [SEG] here", [])


def test_phrases_need_ids():
    with pytest.raises(MarkupError, match="no object ids"):
        parse_tagged("<p> dog </p> [SEG]").phrases()


def test_bracket_form_renders_and_parses_back():
    from videogcg.schemas.markup import render_bracketed

    phrases = [phrase("A red square", ANSWER, (0,)), phrase("a blue circle", ANSWER, (1, 2))]
    bracketed = render_bracketed(ANSWER, phrases)
    assert bracketed == "[A red square](0) moves left while [a blue circle](1, 2) rises."
    parsed = parse_bracketed(bracketed)
    assert parsed.text == ANSWER and parsed.phrases() == tuple(phrases)

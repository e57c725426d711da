"""Field-by-field merging of chunk results, value location, and the extraction metrics."""

from __future__ import annotations

from ragwright.evals.extraction import normalise_value, score_documents
from ragwright.extract.merge import merge_results
from ragwright.extract.spans import locate


def test_merge_takes_the_agreed_scalar_unions_lists_and_merges_objects() -> None:
    results = [
        {"title": "Draft", "total": None, "items": ["a"], "buyer": {"name": "Ann", "city": None}},
        {"title": "Final", "total": "9.00", "items": ["a", "b"], "buyer": {"city": "Oslo"}},
        {"title": "Final", "total": "", "items": [], "buyer": {}},
    ]
    merged, origin = merge_results(results, ("title", "total", "items", "buyer", "missing"))
    assert merged == {
        "title": "Final",
        "total": "9.00",
        "items": ["a", "b"],
        "buyer": {"name": "Ann", "city": "Oslo"},
        "missing": None,
    }
    assert origin == {"title": 1, "total": 1, "items": 0, "buyer": 0}


def test_a_tie_goes_to_the_value_stated_first() -> None:
    assert merge_results([{"d": "1 May"}, {"d": "2 May"}], ("d",))[0] == {"d": "1 May"}


def test_locate_exact_then_case_then_whitespace() -> None:
    text = "NO 2 & 4,\nJALAN BAYU 4\nTOTAL 9.00"
    assert locate(text, "9.00") == (text.index("9.00"), len(text))
    assert locate(text, "total") == (text.index("TOTAL"), text.index("TOTAL") + 5)
    start, end = locate(text, "no 2 & 4, jalan bayu 4") or (0, 0)
    assert text[start:end] == "NO 2 & 4,\nJALAN BAYU 4"
    assert locate(text, "kettle") is None and locate(text, "  ") is None


def test_normalise_value_compares_amounts_as_numbers() -> None:
    assert normalise_value("RM 9.00") == normalise_value("9") == "9.00"
    assert normalise_value("1,200.5") == "1200.50"
    assert normalise_value("  Kopi   Corner. ") == "kopi corner"
    assert normalise_value("14/03/2018") == "14/03/2018"
    assert normalise_value("") is None and normalise_value(None) is None


def test_scores_count_a_wrong_value_against_precision_and_recall() -> None:
    fields = ("company", "total", "date")
    pairs = [
        ({"company": "Kopi", "total": "9.00", "date": None}, {"company": "KOPI", "total": "RM9.00", "date": None}),
        ({"company": "Tea", "total": "3.00", "date": "1/1"}, {"company": "Tea House", "total": "3.00", "date": None}),
        (None, {"company": "X", "total": "1.00", "date": "2/2"}),
    ]
    s = score_documents(pairs, fields)
    # tp: Kopi, 9.00, 3.00 = 3; fp: Tea, 1/1 = 2; fn: Tea House, X, 1.00, 2/2 = 4
    assert (s.total.tp, s.total.fp, s.total.fn) == (3, 2, 4)
    assert s.precision == 3 / 5 and s.recall == 3 / 7 and s.n == 3
    assert s.exact_documents == 1 and s.exact == 1 / 3
    assert s.by_field["date"].to_dict()["fp"] == 1 and s.by_field["total"].f1 == 0.8

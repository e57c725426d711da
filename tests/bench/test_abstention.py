"""`ragwright bench abstention` on a small SQuAD-format set: the gold paragraph is removed for the unanswerable
questions (from a copy of the kept index), every output field is there, and the split rules are deterministic."""

from __future__ import annotations

import json
from pathlib import Path

from ragwright.bench.abstention import (
    QuestionResult,
    load_abstention_set,
    part_of_article,
    run_abstention_bench,
    unanswerable_half,
)
from ragwright.config import Settings
from ragwright.store.sqlite import SQLiteStore
from tests.bench.test_benches import make_squad

KEYS = {
    "unanswerable_abstained",
    "answerable_false_abstention",
    "answerable_false_abstention_gold_retrieved",
    "answerable_cited_gold",
    "n_unanswerable",
    "n_answerable",
}


def _five_paragraph_article(path: Path) -> Path:
    """make_squad's five facts as one article, so every 5th paragraph (the 5th) is unanswerable in that part."""
    data = json.loads(make_squad(path).read_text())
    article = {"title": "Cities", "paragraphs": [p for a in data["data"] for p in a["paragraphs"]]}
    path.write_text(json.dumps({"data": [article], "version": "1.1"}))
    return path


def test_abstention_bench_removes_the_gold_and_reports_every_field(tmp_path: Path, settings: Settings) -> None:
    squad = _five_paragraph_article(tmp_path / "squad.json")
    part = part_of_article("Cities")
    records = tmp_path / "records.jsonl"
    index = tmp_path / "kept"
    data = run_abstention_bench(
        "xquad", squad, settings=settings, part=part, index=index, out=tmp_path / "a.json", records=records
    )
    assert KEYS <= set(data) and data["n_answerable"] == 4 and data["n_unanswerable"] == 1
    assert data["removed_documents"] == 1 and 0 < data["operating_point"] < 1
    assert json.loads((tmp_path / "a.json").read_text()) == data
    rows = [QuestionResult(**json.loads(line)) for line in records.read_text().splitlines()]
    gone = [r for r in rows if not r.answerable]
    assert len(gone) == 1 and not gone[0].gold_top5 and not gone[0].cited_gold  # its paragraph is not retrievable
    assert all(r.gold_top5 for r in rows if r.answerable)
    assert all(
        0.0 <= r.answerability <= 1.0 and r.abstained == (r.answerability < data["operating_point"]) for r in rows
    )
    assert all(r.features and "rare_coverage" in r.features for r in rows)
    kept = SQLiteStore(index / "index.sqlite")
    try:  # the kept index still holds the removed paragraph: only the copy lost it
        assert len(kept.documents("bench")) == 5
    finally:
        kept.close()


def test_split_rules_are_deterministic_and_keep_shared_gold_answerable() -> None:
    cands = [(f"c{i}", frozenset({f"d{i // 2}"})) for i in range(40)]  # pairs of claims share a gold document
    yes, no = unanswerable_half(cands)
    assert (yes, no) == unanswerable_half(list(reversed(cands)))
    assert yes and no and not yes & no
    gold = dict(cands)
    assert not {d for q in no for d in gold[q]} & {d for q in yes for d in gold[q]}
    assert part_of_article("Cities") == part_of_article("Cities") in ("train", "test")


def test_xquad_questions_are_split_by_article_never_by_question(tmp_path: Path) -> None:
    articles = [
        {
            "title": f"Article {a}",
            "paragraphs": [
                {
                    "context": f"Paragraph {p} of article {a}.",
                    "qas": [{"id": f"a{a}p{p}q{k}", "question": f"What is {p}?", "answers": []} for k in range(3)],
                }
                for p in range(4)
            ],
        }
        for a in range(12)
    ]
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"data": articles}))
    _, questions = load_abstention_set("xquad", path)
    by_article: dict[str, set[str]] = {}
    for q in questions:
        by_article.setdefault(q.qid.split("p")[0], set()).add(q.part)
    assert all(len(parts) == 1 for parts in by_article.values())
    assert {p for parts in by_article.values() for p in parts} == {"train", "test"}
    assert sum(not q.answerable for q in questions) == (48 // 5) * 3  # the questions of every 5th paragraph

"""Case format and the BEIR, SQuAD and LlamaIndex importers, on small generated fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragwright.errors import UserError
from ragwright.evals.dataset import Case, doc_key, load_cases, write_cases
from ragwright.evals.importers import import_beir, import_llamaindex, import_squad


def test_case_round_trip_omits_defaults(tmp_path: Path) -> None:
    cases = [
        Case(id="a", question="Q?", relevant={"d1": 2}),
        Case(id="b", question="R?", answerable=False, tags=["trap"]),
    ]
    write_cases(tmp_path / "c.jsonl", cases)
    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"id": "a", "question": "Q?", "relevant": {"d1": 2}}
    assert load_cases(tmp_path / "c.jsonl") == cases


def test_bad_line_and_duplicate_ids_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text('{"id": "a", "question": "Q?"}\n{"id": "b"}\n')
    with pytest.raises(UserError, match=r"c.jsonl:2: question: Field required"):
        load_cases(tmp_path / "c.jsonl")
    (tmp_path / "d.jsonl").write_text('{"id": "a", "question": "Q?"}\n\n{"id": "a", "question": "R?"}\n')
    with pytest.raises(UserError, match=r"d.jsonl:3: duplicate case id 'a'"):
        load_cases(tmp_path / "d.jsonl")


def test_doc_key_takes_the_record_id_of_jsonl_corpora() -> None:
    assert doc_key("/data/scifact/corpus.jsonl#31715818") == "31715818"
    assert doc_key("pages.jsonl#Solana.pdf#p3") == "Solana.pdf#p3"
    assert doc_key("docs/guide.md") == "docs/guide.md"
    # a document id that merely contains "#" is not a JSONL record: it stays whole
    assert doc_key("BlockchainSolana.pdf#p3") == "BlockchainSolana.pdf#p3"
    assert doc_key("notes/c#-tips.md") == "notes/c#-tips.md"


def test_import_beir_keeps_graded_qrels_of_the_split(tmp_path: Path) -> None:
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n')
    (beir / "queries.jsonl").write_text(
        '{"_id": "1", "text": "first?"}\n{"_id": "2", "text": "second?"}\n{"_id": "3", "text": "unjudged?"}\n'
    )
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t2\n1\td2\t1\n2\td3\t1\n")
    assert import_beir(beir, out=tmp_path / "c.jsonl") == 2
    cases = load_cases(tmp_path / "c.jsonl")
    assert cases[0].relevant == {"d1": 2, "d2": 1} and cases[1].relevant == {"d3": 1}
    assert cases[0].tags == ["beir", "test"] and all(c.answerable for c in cases)


def test_import_squad_holds_out_every_fifth_paragraph(squad_file: Path, tmp_path: Path) -> None:
    n = import_squad(squad_file, out=tmp_path / "c.jsonl", corpus_out=tmp_path / "corpus.jsonl")
    cases = load_cases(tmp_path / "c.jsonl")
    assert n == 10
    assert [c.id for c in cases if not c.answerable] == ["q4", "q9"]
    corpus = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert [d["_id"] for d in corpus] == ["p0000", "p0001", "p0002", "p0003", "p0005", "p0006", "p0007", "p0008"]
    first = cases[0]
    assert first.reference_answer == "38 dB" and first.relevant == {"p0000": 1}
    assert "answerable" in first.tags and cases[4].relevant is None and "unanswerable" in cases[4].tags


def test_import_llamaindex_matches_reference_contexts_to_pages(tmp_path: Path) -> None:
    src = tmp_path / "li"
    src.mkdir()
    pages = [
        "Proof of History orders events with a verifiable delay function before consensus.",
        "Tower BFT is Solana's consensus, a PBFT variant that uses the Proof of History clock.",
    ]
    (src / "source_pages.jsonl").write_text(
        "".join(json.dumps({"_id": f"paper.pdf#p{i + 1}", "text": t}) + "\n" for i, t in enumerate(pages))
    )
    examples = [
        {
            "query": "What is Tower BFT?",
            "query_by": {"model_name": "gpt-4", "type": "ai"},
            "reference_contexts": ["Tower BFT is Solana's consensus,\na PBFT variant that uses the Proof"],
            "reference_answer": "A PBFT variant.",
            "reference_answer_by": None,
        },
        {
            "query": "Unmatched?",
            "query_by": None,
            "reference_contexts": ["nothing like any page at all"],
            "reference_answer": "No.",
            "reference_answer_by": None,
        },
    ]
    (src / "rag_dataset.json").write_text(json.dumps({"examples": examples}))
    assert import_llamaindex(src, out=tmp_path / "c.jsonl") == 2
    cases = load_cases(tmp_path / "c.jsonl")
    assert cases[0].relevant == {"paper.pdf#p2": 1} and cases[0].tags == ["llamaindex", "by:gpt-4"]
    assert cases[1].relevant is None and cases[1].reference_answer == "No."
    with pytest.raises(UserError, match="not a LlamaIndex"):
        import_llamaindex(src / "source_pages.jsonl", out=tmp_path / "x.jsonl")

"""The bench commands on small generated datasets: output schema, and metrics equal to pytrec_eval on the same run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import pytrec_eval

from ragwright.bench.answers import run_answer_bench
from ragwright.bench.retrieval import load_beir_queries, run_retrieval_bench
from ragwright.bench.squad import exact_match, f1, normalize_answer
from ragwright.config import Settings
from ragwright.evals.ir_metrics import evaluate
from ragwright.testing import FakeEmbedder

TOPICS = ["solar", "battery", "inverter", "turbine", "grid", "meter", "cable", "fuse", "relay", "panel"]


def make_beir(root: Path, n_docs: int = 60, n_queries: int = 25, seed: int = 7) -> Path:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(200)]
    root.mkdir(parents=True)
    docs = {}
    with (root / "corpus.jsonl").open("w") as fh:
        for i in range(n_docs):
            topic = TOPICS[i % len(TOPICS)]
            text = " ".join([topic] * rng.randint(1, 3) + rng.sample(words, 25))
            docs[f"d{i}"] = topic
            fh.write(json.dumps({"_id": f"d{i}", "title": f"{topic} note {i}", "text": text}) + "\n")
    (root / "qrels").mkdir()
    with (root / "queries.jsonl").open("w") as q, (root / "qrels/test.tsv").open("w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for j in range(n_queries):
            topic = TOPICS[j % len(TOPICS)]
            q.write(json.dumps({"_id": f"q{j}", "text": f"{topic} {rng.choice(words)}"}) + "\n")
            for doc_id, t in docs.items():
                if t == topic and rng.random() < 0.5:
                    r.write(f"q{j}\t{doc_id}\t{rng.choice([1, 2])}\n")
    return root


def test_retrieval_bench_schema_and_pytrec_cross_check(tmp_path: Path, settings: Settings) -> None:
    beir = make_beir(tmp_path / "tiny")
    out = tmp_path / "out.json"
    data = run_retrieval_bench(beir, settings=settings, mode="hybrid", out=out, embedder=FakeEmbedder())
    assert json.loads(out.read_text()) == data
    assert set(data) >= {"dataset", "mode", "metrics", "latency_ms", "ingest"}
    assert set(data["metrics"]) == {"ndcg@10", "recall@10", "recall@100", "mrr@10"}
    assert set(data["latency_ms"]) == {"p50", "p95"}
    assert data["ingest"]["docs"] == 60 and data["ingest"]["chunks"] >= 60
    assert data["ingest"]["chunks_per_s"] > 0 and data["ingest"]["reused_index"] is False
    assert 0.0 < data["metrics"]["ndcg@10"] <= 1.0


def test_ir_metrics_equal_pytrec_eval_on_a_real_run(tmp_path: Path, settings: Settings) -> None:
    from ragwright.app import Ragwright

    beir = make_beir(tmp_path / "tiny2", seed=11)
    queries, qrels = load_beir_queries(beir, "test")
    app = Ragwright(settings, embedder=FakeEmbedder())
    app.ingest([beir / "corpus.jsonl"])
    run = {}
    for qid, text in queries.items():
        ranking: dict[str, float] = {}
        for hit in app.search(text, k=100).hits:
            ranking.setdefault(hit.chunk.chunk.doc_id.split("#")[-1], hit.score)
        run[qid] = ranking
    app.close()
    ours = evaluate(run, qrels, ks=(10, 100))
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_10", "recall_100", "recip_rank"})
    per_q = ref.evaluate({q: {d: s for d, s in sorted(r.items(), key=lambda x: -x[1])[:10]} for q, r in run.items()})
    full = ref.evaluate(run)
    n = len(qrels)
    assert ours["ndcg@10"] == pytest.approx(sum(v["ndcg_cut_10"] for v in full.values()) / n, abs=1e-9)
    assert ours["recall@100"] == pytest.approx(sum(v["recall_100"] for v in full.values()) / n, abs=1e-9)
    assert ours["mrr@10"] == pytest.approx(sum(v["recip_rank"] for v in per_q.values()) / n, abs=1e-9)


def make_squad(path: Path) -> Path:
    facts = [
        ("Lisbon", "The tram network of Lisbon opened in 1873.", "When did the Lisbon tram network open?", "1873"),
        ("Oslo", "The Oslo opera house has a roof people can walk on.", "What can people walk on?", "roof"),
        ("Quito", "Quito lies at an altitude of 2,850 metres.", "At what altitude does Quito lie?", "2,850 metres"),
        (
            "Perth",
            "Perth receives about 3,200 hours of sunshine a year.",
            "How much sunshine does Perth get?",
            "about 3,200 hours",
        ),
        ("Turku", "Turku was the capital of Finland until 1812.", "Until when was Turku the capital?", "1812"),
    ]
    data = {
        "data": [
            {
                "title": city,
                "paragraphs": [
                    {
                        "context": f"{city} facts. {fact}",
                        "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": 0}]}],
                    }
                ],
            }
            for i, (city, fact, q, a) in enumerate(facts)
        ]
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_answer_bench_reports_retrieval_em_f1_and_abstention(tmp_path: Path, settings: Settings) -> None:
    squad = make_squad(tmp_path / "squad.json")
    data = run_answer_bench(squad, settings=settings, holdout=5, embedder=FakeEmbedder(), out=tmp_path / "a.json")
    assert data["questions"] == {"answerable": 4, "unanswerable": 1}
    assert data["paragraphs"] == {"indexed": 4, "held_out": 1}
    assert data["retrieval"]["recall@1"] == 1.0
    assert data["extractive"]["f1"] > data["baseline_first_sentence"]["f1"]
    assert set(data["abstention"]) == {"threshold", "abstained_on_unanswerable", "abstained_on_answerable"}


def test_squad_normalisation_em_f1() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("the eiffel tower", ("Eiffel Tower",)) == 1.0
    # 5 predicted tokens, 1 shared: precision 1/5, recall 1
    assert f1("built in 1889 in Paris", ("1889",)) == pytest.approx(2 * (1 / 5) * 1 / (1 / 5 + 1))
    assert f1("nothing shared", ("1889", "Paris")) == 0.0

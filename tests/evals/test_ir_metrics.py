"""Cross-check ragwright.evals.ir_metrics against pytrec_eval and a hand-computed example."""

from __future__ import annotations

import math
import random

import pytest

from ragwright.evals import ir_metrics as m

pytrec_eval = pytest.importorskip("pytrec_eval")

KS = (1, 3, 5, 10, 20)


def _random_case(seed: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(60)] + ["D1", "a", "ä", "doc_10", "doc_9"]
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for q in range(80):
        qid = f"q{q}"
        if q % 17 != 5:  # some qrels queries missing from the run
            n = 0 if q % 13 == 0 else rng.randint(1, 40)  # some empty runs
            # coarse scores so that many ties occur
            run[qid] = {d: float(rng.randint(0, 6)) / 2 for d in rng.sample(docs, n)}
        if q % 19 != 7:  # some run queries missing from qrels
            judged = rng.sample(docs, rng.randint(1, 12))
            # grades -1..3; some queries end up with no relevant document at all
            qrels[qid] = {d: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for d in judged}
    return run, qrels


def _reference(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    measures = {f"ndcg_cut_{k}" for k in KS} | {f"recall_{k}" for k in KS} | {f"P_{k}" for k in KS}
    measures |= {"success_1", "success_5", "success_10"}
    out = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for k in KS:  # MRR@k = recip_rank of the run truncated to its top k
        cut = {q: {d: run[q][d] for d in m.rank_docs(run[q])[:k]} for q in run}
        rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
        for q, v in rr.items():
            out[q][f"mrr_{k}"] = v["recip_rank"]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pytrec_eval_on_random_run_with_ties(seed: int) -> None:
    run, qrels = _random_case(seed)
    ref = _reference(run, qrels)
    for k in KS:
        ours = {
            f"ndcg_cut_{k}": m.ndcg_at_k(run, qrels, k),
            f"recall_{k}": m.recall_at_k(run, qrels, k),
            f"P_{k}": m.precision_at_k(run, qrels, k),
            f"mrr_{k}": m.mrr_at_k(run, qrels, k),
        }
        if k in (1, 5, 10):
            ours[f"success_{k}"] = m.hit_at_k(run, qrels, k)
        for name, per_query in ours.items():
            assert set(per_query) == set(ref), name
            for qid, value in per_query.items():
                assert value == pytest.approx(ref[qid][name], abs=1e-12), (name, qid)
            mean_ref = sum(ref[q][name] for q in ref) / len(ref)
            assert sum(per_query.values()) / len(per_query) == pytest.approx(mean_ref, abs=1e-12)


def test_hand_computed_example() -> None:
    qrels = {"q1": {"a": 1, "b": 2, "c": 0}, "q2": {"x": 1}, "q3": {"a": 0}, "q4": {"a": 1}}
    # c ranks first; a, b, z tie and are ordered by id descending: z, b, a
    run = {"q1": {"a": 1.0, "b": 1.0, "c": 2.0, "z": 1.0}, "q2": {}, "q3": {"a": 1.0}, "q5": {"a": 1.0}}
    assert m.rank_docs(run["q1"]) == ["c", "z", "b", "a"]
    dcg = 2 / math.log2(4) + 1 / math.log2(5)
    idcg = 2 + 1 / math.log2(3)
    ndcg = m.ndcg_at_k(run, qrels, 10)
    assert set(ndcg) == {"q1", "q2", "q3"}  # q4 not retrieved, q5 not judged: both omitted
    assert ndcg["q1"] == pytest.approx(dcg / idcg)
    assert ndcg["q2"] == 0.0 and ndcg["q3"] == 0.0
    assert m.ndcg_at_k(run, qrels, 2)["q1"] == 0.0
    assert m.recall_at_k(run, qrels, 3)["q1"] == pytest.approx(0.5)
    assert m.precision_at_k(run, qrels, 4)["q1"] == pytest.approx(0.5)
    assert m.mrr_at_k(run, qrels, 10)["q1"] == pytest.approx(1 / 3)
    assert m.mrr_at_k(run, qrels, 2)["q1"] == 0.0
    assert m.hit_at_k(run, qrels, 3)["q1"] == 1.0
    assert m.mean_mrr_at_k(run, qrels, 10) == pytest.approx((1 / 3) / 3)
    assert m.mean_mrr_at_k(run, qrels, 10, missing_as_zero=True) == pytest.approx((1 / 3) / 4)
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recip_rank"}).evaluate(run)
    assert ref["q1"]["ndcg_cut_10"] == pytest.approx(dcg / idcg)
    assert ref["q1"]["recip_rank"] == pytest.approx(1 / 3)


def test_negative_grades_give_no_gain() -> None:
    qrels = {"q": {"d": -1, "a": 1}}
    run = {"q": {"d": 3.0, "a": 1.0}}
    assert m.ndcg_at_k(run, qrels, 2)["q"] == pytest.approx(1 / math.log2(3))


def test_rejects_non_positive_k() -> None:
    with pytest.raises(ValueError):
        m.ndcg_at_k({}, {}, 0)

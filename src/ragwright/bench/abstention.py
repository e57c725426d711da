"""`ragwright bench abstention`: does ragwright abstain when the gold document is absent, and answer when it is there?

Unanswerable questions look like real life: their gold document is **removed from the index** while its neighbours
(same article, same topic) stay. The full corpus is ingested once into a kept index; each part's unanswerable gold
documents are deleted from a *copy* of its SQLite file (cheap: nothing is re-embedded). Every question then goes
through the real ask pipeline (:class:`~ragwright.answering.service.Asker`) with the shipped defaults.

Split rules (fixed before any test figure was computed; :func:`part_of` and :func:`unanswerable_half`):

- **XQuAD-en**: split **by article**: an article is ``train`` when the first 8 hex digits of sha256(title) are even,
  else ``test``. Unanswerable: the questions of every 5th paragraph (``held_out_ids(docs, 5)``, the rule of
  ``ragwright bench answers``), whose paragraph is removed.
- **SciFact**: ``train`` = the claims of ``qrels/train.tsv``, ``test`` = those of ``qrels/test.tsv``. Unanswerable
  half: claims whose sha256(claim id) is odd, minus those sharing a gold abstract with an answerable claim of the
  same part (they are dropped); their gold abstracts are removed.
- **Solana** (never used for fitting): every question is ``test``; unanswerable half by sha256(question id) as for
  SciFact, gold pages matched as ``ragwright eval import llamaindex`` does.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import sqlean as sqlite3

from ragwright.app import Ragwright
from ragwright.bench.common import TENANT, MemoEmbedder, index_dir, percentiles_ms, write_json
from ragwright.bench.retrieval import load_beir_queries
from ragwright.bench.squad import held_out_ids, load_squad
from ragwright.config import Settings
from ragwright.documents.beir import iter_beir_corpus
from ragwright.documents.model import Document
from ragwright.errors import UserError
from ragwright.evals.dataset import load_cases
from ragwright.evals.importers import import_llamaindex
from ragwright.ingest.pipeline import Ingestor, ProgressCallback
from ragwright.models.base import Embedder

__all__ = [
    "DATASETS",
    "DEFAULT_DATA",
    "AbstentionQuestion",
    "QuestionResult",
    "load_abstention_set",
    "run_abstention_bench",
]

DATASETS = ("xquad", "scifact", "solana")
DEFAULT_DATA = {
    "xquad": Path("../shared/datasets/xquad-en/xquad.en.json"),
    "scifact": Path("../shared/datasets/scifact"),
    "solana": Path("../shared/datasets/blockchain-solana"),
}
"""Where the README's commands expect the datasets (``--data`` overrides)."""
Part = Literal["train", "test"]


@dataclass(frozen=True, slots=True)
class AbstentionQuestion:
    """One question, its gold documents, its part and whether its gold stays in the index."""

    qid: str
    question: str
    gold: frozenset[str]
    part: Part
    answerable: bool


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """What the pipeline did with one question (one line of ``--records``)."""

    dataset: str
    part: str
    qid: str
    answerable: bool
    abstained: bool
    answerability: float
    gold_top5: bool
    """A gold document's passage was among the 5 retrieved."""
    cited_gold: bool
    """Answered, citing a gold document."""
    features: dict[str, Any]
    best_evidence_gold: bool = False
    """The best-supported evidence sentence (first citation, or first closest passage when abstaining) is from a
    gold document: whether the answer would cite gold, whatever the operating point."""


def _odd(key: str) -> bool:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 2 == 1


def part_of_article(title: str) -> Part:
    """XQuAD's split by article: train when sha256(title)'s first 8 hex digits are even."""
    return "test" if _odd(title) else "train"


def unanswerable_half(candidates: list[tuple[str, frozenset[str]]]) -> tuple[set[str], set[str]]:
    """(answerable ids, unanswerable ids) of one part: ids with an odd sha256 are unanswerable, unless one of their
    gold documents is also gold for an answerable id (those are left out of both)."""
    answerable = {qid for qid, _ in candidates if not _odd(qid)}
    kept_gold = set().union(*(g for qid, g in candidates if qid in answerable)) if answerable else set()
    unanswerable = {qid for qid, gold in candidates if _odd(qid) and not gold & kept_gold}
    return answerable, unanswerable


def load_abstention_set(
    dataset: str, path: Path, corpus_limit: int | None = None
) -> tuple[list[Document], list[AbstentionQuestion]]:
    """The documents to index and the questions, labelled by the split rules of this module. ``corpus_limit`` keeps
    the first N SciFact abstracts (file order) and only the claims whose gold abstracts are all among them."""
    if dataset == "xquad":
        docs, squad = load_squad(path)
        held = held_out_ids(docs, 5)
        title = {d.doc_id: d.title for d in docs}
        return docs, [
            AbstentionQuestion(
                q.qid, q.question, frozenset({q.doc_id}), part_of_article(title[q.doc_id]), q.doc_id not in held
            )
            for q in squad
        ]
    if dataset == "scifact":
        docs = list(iter_beir_corpus(path / "corpus.jsonl"))[:corpus_limit]
        ids = {d.doc_id for d in docs}
        out: list[AbstentionQuestion] = []
        for part in ("train", "test"):
            queries, qrels = load_beir_queries(path, part)
            cands = [(qid, frozenset(d for d, g in qrels[qid].items() if g > 0)) for qid in queries]
            cands = [(qid, gold) for qid, gold in cands if gold and gold <= ids]
            yes, no = unanswerable_half(cands)
            out += [AbstentionQuestion(q, queries[q], g, part, q in yes) for q, g in cands if q in yes | no]
        return docs, out
    if dataset == "solana":
        pages = path / "source_pages.jsonl"
        docs = list(iter_beir_corpus(pages))
        with tempfile.TemporaryDirectory() as tmp:
            import_llamaindex(path, out=Path(tmp) / "cases.jsonl", pages=pages)
            cases = load_cases(Path(tmp) / "cases.jsonl")
        cands = [(c.id, frozenset(c.relevant or {})) for c in cases if c.relevant]
        yes, no = unanswerable_half(cands)
        text = {c.id: c.question for c in cases}
        return docs, [AbstentionQuestion(q, text[q], g, "test", q in yes) for q, g in cands if q in yes | no]
    raise UserError(f"--dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")


@contextmanager
def gold_removed_copy(
    data_dir: Path,
    removed: set[str],
    settings: Settings,
    embedder: Embedder | None = None,
    corpus: set[str] | None = None,
) -> Iterator[Ragwright]:
    """A copy of the kept index (SQLite backup API) with the ``removed`` documents deleted, and any document not in
    ``corpus`` (when given: a kept index may hold more than this run's corpus), opened."""
    with tempfile.TemporaryDirectory(prefix="ragwright-abstention-") as tmp:
        src = sqlite3.connect(str(data_dir / "index.sqlite"))
        dst = sqlite3.connect(str(Path(tmp) / "index.sqlite"))
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        rw = Ragwright(settings.model_copy(update={"data_dir": Path(tmp)}), embedder=embedder)
        try:
            extra = {d.doc_id for d in rw.store.documents(TENANT)} - corpus if corpus is not None else set()
            for doc_id in sorted(removed | extra):
                rw.store.delete(TENANT, doc_id)
            yield rw
        finally:
            rw.close()


def ask_all(
    rw: Ragwright, dataset: str, questions: list[AbstentionQuestion], on_query: Callable[[int, int], None] | None
) -> tuple[list[QuestionResult], list[float]]:
    results: list[QuestionResult] = []
    seconds: list[float] = []
    for i, q in enumerate(questions):
        answer = rw.ask(q.question, tenant=TENANT)
        seconds.append(sum(v for k, v in answer.timings_ms.items() if k in ("retrieve.total", "evidence")) / 1000)
        # the store's doc_path is the document id (doc_key would cut "BlockchainSolana.pdf#p3" at its "#")
        retrieved = {r.doc_path for r in answer.retrieved[:5]}
        cited = {c.doc_path for c in answer.citations}
        first = (answer.citations or answer.closest)[:1]
        results.append(
            QuestionResult(
                dataset=dataset,
                part=q.part,
                qid=q.qid,
                answerable=q.answerable,
                abstained=answer.abstained,
                answerability=round(answer.answerability or 0.0, 6),
                gold_top5=bool(retrieved & q.gold),
                cited_gold=bool(cited & q.gold),
                features=asdict(answer.features) if answer.features else {},
                best_evidence_gold=bool(first) and first[0].doc_path in q.gold,
            )
        )
        if on_query is not None:
            on_query(i + 1, len(questions))
    return results, seconds


def summarise(results: list[QuestionResult]) -> dict[str, Any]:
    """The figures ``ragwright bench abstention`` reports, from per-question results."""
    yes = [r for r in results if r.answerable]
    no = [r for r in results if not r.answerable]
    seen = [r for r in yes if r.gold_top5]

    def share(rows: list[QuestionResult], pick: Callable[[QuestionResult], bool]) -> float | None:
        return round(sum(map(pick, rows)) / len(rows), 4) if rows else None

    return {
        "unanswerable_abstained": share(no, lambda r: r.abstained),
        "answerable_false_abstention": share(yes, lambda r: r.abstained),
        "answerable_false_abstention_gold_retrieved": share(seen, lambda r: r.abstained),
        "answerable_cited_gold": share(yes, lambda r: r.cited_gold),
        "n_unanswerable": len(no),
        "n_answerable": len(yes),
        "n_answerable_gold_retrieved": len(seen),
    }


def run_abstention_bench(
    dataset: str,
    data: Path,
    *,
    settings: Settings,
    part: Part = "test",
    index: Path | None = None,
    out: Path | None = None,
    records: Path | None = None,
    limit: int | None = None,
    corpus_limit: int | None = None,
    progress: ProgressCallback | None = None,
    on_query: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    docs, questions = load_abstention_set(dataset, data, corpus_limit)
    # the records always hold the alignment features, so a model that reads them can be fitted from any run
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update={"alignment": True})})
    if dataset == "solana" and part != "test":
        raise UserError("the Solana set is never used for fitting: it has only a test part")
    questions = [q for q in questions if q.part == part][:limit] if limit else [q for q in questions if q.part == part]
    removed = set().union(*(q.gold for q in questions if not q.answerable)) if questions else set()
    with index_dir(index) as data_dir:
        rw = Ragwright(settings.model_copy(update={"data_dir": data_dir}))
        try:
            Ingestor(rw.store, rw.embedder, rw.settings, progress).ingest_documents(
                docs, tenant=TENANT, total=len(docs)
            )
            memo = MemoEmbedder(rw.embedder)
        finally:
            rw.close()
        with gold_removed_copy(data_dir, removed, settings, memo, {d.doc_id for d in docs}) as copy:
            results, seconds = ask_all(copy, dataset, questions, on_query)
            threshold = copy.settings.answer.min_answerability
    if records is not None:
        records.parent.mkdir(parents=True, exist_ok=True)
        records.write_text("".join(json.dumps(asdict(r)) + "\n" for r in results), encoding="utf-8")
    from ragwright.answering.answerability import resolve_model

    model = resolve_model(settings.answer.answerability_model)
    data_out: dict[str, Any] = {
        "dataset": dataset,
        "part": part,
        **summarise(results),
        "removed_documents": len(removed),
        "indexed_documents": len(docs),
        "operating_point": threshold if threshold is not None else model.threshold,
        "model": model.provenance.get("version", "unknown"),
        "latency_ms": percentiles_ms(seconds),
        "config": {"embedder": memo.name, "evidence_k": settings.answer.evidence_k, "mode": settings.retrieval.mode},
    }
    write_json(out, data_out)
    return data_out

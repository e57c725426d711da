"""Importers from public benchmark formats to the case format of :mod:`ragwright.evals.dataset`.

- **BEIR** (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``): one case per judged query, graded qrels as
  ``relevant``. Index the corpus itself (``ragwright ingest corpus.jsonl``).
- **SQuAD / XQuAD**: one case per question. Every ``holdout``-th paragraph is left out of the corpus written beside
  the cases (the rule ``ragwright bench answers`` uses), so its questions are unanswerable by construction: a good
  system answers the others and abstains on those.
- **Feedback** (thumbs up/down from the chat page, :mod:`ragwright.service.feedback`): a thumbs-up answer becomes
  its reference (markers removed) with the cited documents as ``relevant``, and a thumbs-up abstention an
  unanswerable case; a thumbs-down keeps the question, conversation and comment (``note``) with no reference, tagged
  ``needs-review`` for someone to write the right answer.
- **LlamaIndex** ``rag_dataset.json``: one case per example with its reference answer; with the source pages
  (``source_pages.jsonl``) each reference context is matched to the page it came from, which becomes ``relevant``.

Example::

    n = import_squad(Path("xquad.en.json"), out=Path("cases.jsonl"), corpus_out=Path("corpus.jsonl"))
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ragwright.bench.retrieval import load_beir_queries
from ragwright.bench.squad import held_out_ids, load_squad
from ragwright.errors import UserError
from ragwright.evals.dataset import Case, HistoryTurn, write_cases
from ragwright.service.feedback import Feedback, FeedbackQuery, FeedbackStore, Rating

__all__ = ["feedback_cases", "held_out_ids", "import_beir", "import_feedback", "import_llamaindex", "import_squad"]


def import_beir(src: Path, *, out: Path, split: str = "test", limit: int | None = None) -> int:
    """Cases from a BEIR dataset directory; returns how many were written."""
    queries, qrels = load_beir_queries(src, split)
    items = list(queries.items())[:limit] if limit else list(queries.items())
    cases = [Case(id=qid, question=text, relevant=dict(qrels[qid]), tags=["beir", split]) for qid, text in items]
    return write_cases(out, cases)


def import_squad(src: Path, *, out: Path, corpus_out: Path, holdout: int = 5, limit: int | None = None) -> int:
    """Cases from a SQuAD-format file, and the corpus to index (held-out paragraphs left out) as BEIR JSONL."""
    docs, questions = load_squad(src)
    held = held_out_ids(docs, holdout)
    titles = {d.doc_id: d.title for d in docs}
    cases: list[Case] = []
    for q in questions[:limit] if limit else questions:
        answerable = q.doc_id not in held
        refs = list(dict.fromkeys(q.answers))
        cases.append(
            Case(
                id=q.qid,
                question=q.question,
                reference_answer=refs[0] if refs else None,
                alternatives=refs[1:],
                relevant={q.doc_id: 1} if answerable else None,
                answerable=answerable,
                tags=[t for t in (titles.get(q.doc_id, ""), "answerable" if answerable else "unanswerable") if t],
            )
        )
    corpus_out.parent.mkdir(parents=True, exist_ok=True)
    with corpus_out.open("w", encoding="utf-8") as fh:
        for d in docs:
            if d.doc_id not in held:
                fh.write(json.dumps({"_id": d.doc_id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n")
    return write_cases(out, cases)


_WORD = re.compile(r"\w+")


def _bag(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def _best_page(context: str, pages: list[tuple[str, Counter[str]]]) -> str | None:
    """The page sharing the most words with ``context`` (extracted PDF text differs in spacing and hyphens)."""
    bag = _bag(context)
    total = sum(bag.values())
    best, best_share = None, 0.0
    for page_id, page_bag in pages:
        share = sum((bag & page_bag).values()) / total if total else 0.0
        if share > best_share:
            best, best_share = page_id, share
    return best if best_share >= 0.5 else None


def _load_pages(path: Path) -> list[tuple[str, Counter[str]]]:
    pages: list[tuple[str, Counter[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            pages.append((str(rec["_id"]), _bag(rec.get("text", ""))))
    return pages


def import_llamaindex(src: Path, *, out: Path, pages: Path | None = None, limit: int | None = None) -> int:
    """Cases from a LlamaIndex ``rag_dataset.json`` (a file, or a directory holding it and ``source_pages.jsonl``)."""
    if src.is_dir():
        if pages is None and (src / "source_pages.jsonl").is_file():
            pages = src / "source_pages.jsonl"
        src = src / "rag_dataset.json"
    try:
        examples: list[dict[str, Any]] = json.loads(src.read_text(encoding="utf-8"))["examples"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{src} is not a LlamaIndex rag_dataset.json: {exc}") from None
    page_bags = _load_pages(pages) if pages is not None else []
    cases: list[Case] = []
    for i, ex in enumerate(examples[:limit] if limit else examples, start=1):
        relevant: dict[str, int] = {}
        for ctx in ex.get("reference_contexts") or []:
            page = _best_page(ctx, page_bags) if page_bags else None
            if page is not None:
                relevant[page] = 1
        by = (ex.get("query_by") or {}).get("model_name") or (ex.get("query_by") or {}).get("type")
        cases.append(
            Case(
                id=f"q{i:04d}",
                question=ex["query"],
                reference_answer=ex.get("reference_answer"),
                relevant=relevant or None,
                tags=["llamaindex"] + ([f"by:{by}"] if by else []),
            )
        )
    return write_cases(out, cases)


_MARKERS = re.compile(r"\s*\[\d+\]")


def feedback_cases(ratings: list[Feedback]) -> list[Case]:
    """One case per rating, oldest first (ids ``fb-<first 12 hex of the rating id>``)."""
    cases: list[Case] = []
    for f in ratings:
        up = f.rating is Rating.UP
        tags = ["feedback", f"feedback:{f.rating.value}", f"kb:{f.kb}", f"tenant:{f.tenant}"]
        if not up:
            tags.append("needs-review")
        if f.prompt_version:
            tags.append(f"prompt:{f.prompt_version}")
        answered = up and not f.abstained
        cases.append(
            Case(
                id=f"fb-{f.id[:12]}",
                question=f.question,
                reference_answer=_MARKERS.sub("", f.answer).strip() if answered else None,
                relevant=dict.fromkeys(f.cited_docs, 1) if answered and f.cited_docs else None,
                answerable=not (up and f.abstained),
                tags=tags,
                history=[HistoryTurn.model_validate({"role": r, "content": c}) for r, c in f.history],
                note=f.comment or None,
            )
        )
    return cases


def import_feedback(store: FeedbackStore, query: FeedbackQuery, *, out: Path) -> int:
    """Cases from stored ratings (:func:`feedback_cases`); returns how many were written."""
    return write_cases(out, feedback_cases(store.list(query)))

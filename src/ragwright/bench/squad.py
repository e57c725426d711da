"""SQuAD-format data (XQuAD-en) as documents and questions, and SQuAD's answer normalisation, EM and F1."""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ragwright.documents.model import Document, Section, sha256_bytes
from ragwright.errors import UserError


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """One SQuAD question: its id, text, gold answers and the paragraph (document) it is about."""

    qid: str
    question: str
    answers: tuple[str, ...]
    doc_id: str


def load_squad(path: Path) -> tuple[list[Document], list[SquadQuestion]]:
    """One Document per context paragraph (``doc_id`` ``p0001``…), one question per QA pair."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path} is not a SQuAD-format JSON file: {exc}") from None
    docs: list[Document] = []
    questions: list[SquadQuestion] = []
    for article in data:
        title = article.get("title", "")
        for para in article["paragraphs"]:
            doc_id = f"p{len(docs):04d}"
            text = para["context"]
            docs.append(
                Document(
                    doc_id=doc_id,
                    source=f"{path}#{doc_id}",
                    file_type="squad",
                    title=title,
                    text=text,
                    sections=[Section(0, len(text))],
                    content_hash=sha256_bytes(text.encode("utf-8")),
                )
            )
            for qa in para["qas"]:
                questions.append(
                    SquadQuestion(
                        qid=qa["id"],
                        question=qa["question"],
                        answers=tuple(a["text"] for a in qa["answers"]),
                        doc_id=doc_id,
                    )
                )
    return docs, questions


def held_out_ids(docs: list[Document], holdout: int) -> set[str]:
    """Every ``holdout``-th paragraph (the 5th, 10th, ... for 5): left out of the index, so its questions are
    unanswerable by construction (``ragwright bench answers`` and ``ragwright eval import squad`` agree on this)."""
    return {d.doc_id for i, d in enumerate(docs) if holdout and i % holdout == holdout - 1}


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: tuple[str, ...]) -> float:
    return max((float(normalize_answer(prediction) == normalize_answer(g)) for g in golds), default=0.0)


def f1(prediction: str, golds: tuple[str, ...]) -> float:
    def one(gold: str) -> float:
        pred_tokens = normalize_answer(prediction).split()
        gold_tokens = normalize_answer(gold).split()
        common = Counter(pred_tokens) & Counter(gold_tokens)
        same = sum(common.values())
        if same == 0:
            return 0.0
        precision, recall = same / len(pred_tokens), same / len(gold_tokens)
        return 2 * precision * recall / (precision + recall)

    return max((one(g) for g in golds), default=0.0)

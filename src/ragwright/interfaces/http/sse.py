"""Server-sent events framing and the conversions shared by the answer and chat routes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ragwright.answering.types import Answer, Citation, fallback_dict
from ragwright.interfaces.http.schemas import AnswerOut, CitationOut, FallbackOut, PromptRefOut
from ragwright.observability.tracing import current_trace_id

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: Any, event: str | None = None) -> bytes:
    """One event: ``data: <json>\\n\\n`` (with an ``event:`` line when named)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def pieces(text: str, size: int = 24) -> Iterator[str]:
    """The text in small pieces that keep words whole, for streaming an already checked answer."""
    buf = ""
    for word in re.findall(r"\S+\s*|\s+", text):
        buf += word
        if len(buf) >= size:
            yield buf
            buf = ""
    if buf:
        yield buf


def citation_out(c: Citation) -> CitationOut:
    return CitationOut(
        n=c.n,
        doc_id=c.doc_path,
        chunk_id=c.chunk_id,
        location=c.location,
        title=c.title,
        heading_path=list(c.heading_path),
        page=c.page,
        char_start=c.char_start,
        char_end=c.char_end,
        snippet=c.snippet,
    )


def answer_out(answer: Answer, kb: str) -> AnswerOut:
    return AnswerOut(
        question=answer.question,
        knowledge_base=kb,
        text=answer.text,
        abstained=answer.abstained,
        support=answer.support,
        answered_by=answer.answered_by,
        model=answer.model,
        abstention=answer.abstention,
        fallback=FallbackOut.model_validate(fallback_dict(answer.fallback)) if answer.fallback else None,
        model_abstained=answer.model_abstained,
        citations=[citation_out(c) for c in answer.citations],
        closest=[citation_out(c) for c in answer.closest],
        flagged=list(answer.flagged),
        timings_ms={k: round(v, 3) for k, v in answer.timings_ms.items()},
        answerability=answer.answerability,
        prompt=PromptRefOut(name=answer.prompt.name, version=answer.prompt.version) if answer.prompt else None,
        rewritten_question=answer.rewritten_question,
        trace_id=current_trace_id(),
    )


def with_sources(answer: Answer) -> str:
    """The answer text followed by a numbered source list, as a chat message shows it."""
    if not answer.citations:
        return answer.text
    lines = [f"[{c.n}] {c.location}" for c in answer.citations]
    return answer.text + "\n\nSources:\n" + "\n".join(lines)

"""`Asker`: question in, cited answer (or an honest abstention) out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Literal

from ragwright.answering import extractive, generative, injection_guard
from ragwright.answering.answerability import AnswerabilityModel, shipped_model
from ragwright.answering.evidence import EvidenceSentence, score_sentences
from ragwright.answering.features import extract_features
from ragwright.answering.types import (
    AbstentionReason,
    Answer,
    AnsweredBy,
    Citation,
    Fallback,
    FallbackCause,
    Retrieved,
)
from ragwright.answering.verify_judge import ModelJudge
from ragwright.config import AnswerSettings
from ragwright.errors import GatewayError
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, RequestContext
from ragwright.models.base import Embedder
from ragwright.retrieval.analysis import query_terms
from ragwright.retrieval.retriever import Retriever
from ragwright.store.base import Filters

ABSTAIN_TEXT = "The indexed documents do not contain the answer to this question."

GeneratorName = Literal["extractive", "local", "gateway"]
ChatFn = Callable[[ChatRequest], ChatResponse]
"""A synchronous call into the gateway (``SyncGateway.chat``): the only way the answerer reaches a model."""

MODEL_FOR_MODE = {"local": "local:smollm2", "gateway": "default"}


class Asker:
    """Example::

    asker = Asker(retriever, embedder, settings.answer)
    answer = asker.ask("acme", "What does the Pro plan cost?")
    print(answer.text)            # "The Pro plan costs $29 per month. [1]"
    print(answer.citations[0].location)
    """

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder | None,
        settings: AnswerSettings,
        chat: ChatFn | None = None,
        model: AnswerabilityModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self.chat = chat
        self.model = model or shipped_model()

    @property
    def threshold(self) -> float:
        """The operating point: the configured ``answer.min_answerability``, else the shipped model's."""
        configured = self.settings.min_answerability
        return self.model.threshold if configured is None else configured

    def ask(
        self, tenant: str, question: str, *, filters: Filters | None = None, generator: GeneratorName | None = None
    ) -> Answer:
        mode = generator or self.settings.generator
        result = self.retriever.search(tenant, question, k=self.settings.evidence_k, filters=filters)
        timings = {f"retrieve.{k}": v for k, v in result.timings_ms.items()}
        retrieved = [Retrieved(h.chunk.doc_path, h.chunk.chunk.id, h.score, h.chunk.chunk.text) for h in result.hits]
        clock = time.perf_counter()
        screened = injection_guard.screen(question, result.hits)  # flagged or stuffed passages never answer
        scored = injection_guard.answerable(question, score_sentences(question, screened.hits, self.embedder))
        timings["evidence"] = (time.perf_counter() - clock) * 1000.0
        best = max((s.support for s in scored), default=0.0)
        idf = self.retriever.store.term_idf(tenant, query_terms(question))
        features = extract_features(question, result.hits, scored, idf, k1=self.retriever.store.bm25_k1)
        answerability = self.model.probability(features)
        if answerability < self.threshold or best < self.settings.abstain_below:
            answer = self._abstain(question, scored, best, timings)
            answer.retrieved, answer.answerability, answer.features = retrieved, answerability, features
            return answer

        clock = time.perf_counter()
        dropped: list[str] = []
        fallback: Fallback | None = None
        reply: ChatResponse | None = None
        if mode in MODEL_FOR_MODE and self.chat is not None:
            system, user = generative.build_messages(question, screened.hits)
            request = ChatRequest(
                model=f"local:{self.settings.local_model}" if mode == "local" else MODEL_FOR_MODE[mode],
                temperature=0.0,
                seed=0,
                max_tokens=self.settings.max_tokens,
                messages=(Message("system", system), Message("user", user)),
                context=RequestContext(tenant=tenant, retrieval_confidence=best),
            )
            try:
                reply = self.chat(request)
            except GatewayError as exc:
                fallback = Fallback(FallbackCause.MODEL_ERROR, request.model, type(exc).__name__, str(exc))
            else:
                relevant = injection_guard.relevant(scored)  # rule 3: support must be relevant, and no echoes
                generated, echoed = injection_guard.strip_echoes(reply.text, relevant, result.hits)
                checked = generative.check_citations(generated, relevant, self.embedder, self._judge(tenant))
                checked = dataclasses.replace(checked, dropped=echoed + checked.dropped)
                timings["generate"] = (time.perf_counter() - clock) * 1000.0
                dropped = checked.dropped
                by_model = Answer(
                    question=question,
                    text=checked.text,
                    citations=checked.citations,
                    abstained=False,
                    support=best,
                    answered_by=AnsweredBy.for_model(reply.model),
                    model=reply.model,
                    flagged=dropped,
                    timings_ms=timings,
                    retrieved=retrieved,
                    cost_usd=reply.cost_usd,
                    usage=_usage(reply),
                    model_abstained=checked.model_abstained,
                    answerability=(
                        self.model.probability(features.with_generator(True))
                        if checked.model_abstained
                        else answerability
                    ),
                    features=features.with_generator(checked.model_abstained),
                )
                if checked.text:
                    return by_model
                if checked.model_abstained:  # the model's own "not in the documents" is an abstention
                    return dataclasses.replace(
                        by_model,
                        text=ABSTAIN_TEXT,
                        abstained=True,
                        answered_by=AnsweredBy.ABSTAINED,
                        abstention=AbstentionReason.MODEL,
                        closest=_closest(scored),
                    )
                fallback = Fallback(FallbackCause.NOTHING_SUPPORTED, reply.model)
        text, citations = extractive.compose(extractive.select(scored, max_sentences=self.settings.max_sentences))
        timings["answer"] = (time.perf_counter() - clock) * 1000.0
        return Answer(
            question=question,
            text=text,
            citations=citations,
            abstained=False,
            support=best,
            answered_by=AnsweredBy.EXTRACTIVE,
            flagged=dropped,
            timings_ms=timings,
            retrieved=retrieved,
            cost_usd=reply.cost_usd if reply else None,
            usage=_usage(reply) if reply else {},
            fallback=fallback,
            answerability=answerability,
            features=features,
        )

    def _judge(self, tenant: str) -> ModelJudge | None:
        model = self.settings.verifier_model
        return ModelJudge(self.chat, model, tenant=tenant) if model and self.chat is not None else None

    def _abstain(self, question: str, scored: list[EvidenceSentence], best: float, timings: dict[str, float]) -> Answer:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            citations=[],
            abstained=True,
            support=best,
            answered_by=AnsweredBy.ABSTAINED,
            abstention=AbstentionReason.WEAK_EVIDENCE,
            closest=_closest(scored),
            timings_ms=timings,
        )


def _closest(scored: list[EvidenceSentence], n: int = 3) -> list[Citation]:
    """The best-supported sentence of each of the ``n`` nearest passages: what the documents do say."""
    closest: list[Citation] = []
    seen: set[str] = set()
    for sent in sorted(scored, key=lambda s: -s.support):
        key = sent.hit.chunk.chunk.id
        if key in seen:
            continue
        seen.add(key)
        closest.append(sent.citation(len(closest) + 1))
        if len(closest) == n:
            break
    return closest


def _usage(reply: ChatResponse) -> dict[str, int]:
    u = reply.usage
    return {
        "input_tokens": u.input_tokens,
        "cached_input_tokens": u.cached_input_tokens,
        "output_tokens": u.output_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    }

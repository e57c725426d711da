"""`Asker`: question in, cited answer (or an honest abstention) out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ragwright.answering import conversation, extractive, generative, injection_guard
from ragwright.answering.alignment import Aligner
from ragwright.answering.answerability import AnswerabilityModel, resolve_model
from ragwright.answering.conversation import Rewrite, RewriteMethod, Turn
from ragwright.answering.corpus_calibration import CalibrationCache, CorpusCalibration
from ragwright.answering.evidence import EvidenceSentence, score_sentences
from ragwright.answering.features import AnswerabilityFeatures, extract_features
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
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, PromptRef, RequestContext, Usage
from ragwright.models.base import Embedder, TokenEmbedder
from ragwright.observability import tracing
from ragwright.prompts.registry import PromptSource, default_registry
from ragwright.retrieval.analysis import query_terms
from ragwright.retrieval.retriever import Hit, Retriever, SearchResult
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
        prompts: PromptSource | None = None,
        aligner: Aligner | None = None,
        calibrations: CalibrationCache | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self.chat = chat
        self.model = model or resolve_model(settings.answerability_model)
        wanted = settings.alignment if settings.alignment is not None else self.model.reads_alignment
        if aligner is None and isinstance(embedder, TokenEmbedder):
            aligner = Aligner(embedder)
        self.aligner = aligner if wanted else None
        """Computes the late-interaction alignment features, when the model reads them (or ``answer.alignment``);
        pass the app's so its cache of passage token vectors outlives one question."""
        self.calibrations = calibrations or CalibrationCache()
        """Corpus self-calibrations by tenant, for a model that reads features on its corpus's scale (pass the
        app's, so an index is calibrated once per process)."""
        self.prompts = prompts or default_registry()
        """Where every prompt comes from (the app's registry: labels, A/B splits, tenant versions)."""

    @property
    def threshold(self) -> float:
        """The operating point: the configured ``answer.min_answerability``, else the shipped model's."""
        configured = self.settings.min_answerability
        return self.model.threshold if configured is None else configured

    def prepare(
        self,
        tenant: str,
        question: str,
        *,
        filters: Filters | None = None,
        generator: GeneratorName | None = None,
        history: Sequence[Turn] = (),
        caller: RequestContext | None = None,
    ) -> Prepared:
        """Rewrite a follow-up with the conversation, retrieve, screen and score the evidence, decide answerability.
        ``Prepared.abstained`` is set when ragwright abstains; else an answerer takes it from here.

        ``tenant`` is the store tenant searched; ``caller`` is who asks (tenant, key, knowledge base), carried on
        every model call; by default the store tenant itself (the CLI's ``--tenant``). The caller's key (else the
        conversation's first question) keeps it on one arm of a prompt A/B split (:mod:`ragwright.prompts`)."""
        mode = generator or self.settings.generator
        uses_model = mode in MODEL_FOR_MODE and self.chat is not None
        caller = caller or RequestContext(tenant=tenant)
        sticky = caller.key_id or next((t.content for t in history if t.role == "user" and t.content.strip()), None)
        rewritten = conversation.rewrite(
            question,
            history,
            chat=self.chat if uses_model else None,
            model=self._model_name(mode),
            context=caller,
            prompt=self.prompts.resolve(caller.tenant, "condense", sticky=sticky) if uses_model and history else None,
        )
        asked, question = question, rewritten.question
        result = self.retriever.search(tenant, question, k=self.settings.evidence_k, filters=filters)
        timings = {f"retrieve.{k}": v for k, v in result.timings_ms.items()}
        retrieved = [Retrieved(h.chunk.doc_path, h.chunk.chunk.id, h.score, h.chunk.chunk.text) for h in result.hits]
        clock = time.perf_counter()
        screened, scored, features, idf = self.evidence(tenant, question, result.hits)
        now = time.perf_counter()
        timings["evidence"] = (now - clock) * 1000.0
        tracing.lap("evidence", clock, now)
        best = max((s.support for s in scored), default=0.0)
        if self.aligner is not None:
            aligned = time.perf_counter()
            features = features.with_alignment(self.aligner.features(question, scored, idf))
            timings["alignment"] = (time.perf_counter() - aligned) * 1000.0
        answerability = self.model.probability(features, self.calibration(tenant))
        tracing.lap("answerability", now, time.perf_counter(), {"ragwright.answerability": answerability})
        prepared = Prepared(
            asked, rewritten, mode, tenant, result, screened, scored, best, features, answerability, caller
        )
        prepared.timings, prepared.retrieved, prepared.sticky = timings, retrieved, sticky
        unsupported_follow_up = rewritten.method is not RewriteMethod.NONE and not conversation.follow_up_supported(
            asked, [s.matched for s in scored if s.support >= self.settings.abstain_below]
        )
        if answerability < self.threshold or best < self.settings.abstain_below or unsupported_follow_up:
            answer = self._abstain(question, scored, best, timings)
            answer.retrieved, answer.answerability, answer.features = retrieved, answerability, features
            prepared.abstained = prepared.tag(answer)
        return prepared

    def calibration(self, tenant: str) -> CorpusCalibration | None:
        """The tenant's corpus self-calibration when the model reads it (computed on first use), else None."""
        return self.calibrations.get(self, tenant) if self.model.corpus_scaling is not None else None

    def evidence(
        self, tenant: str, question: str, hits: list[Hit]
    ) -> tuple[list[Hit], list[EvidenceSentence], AnswerabilityFeatures, dict[str, float]]:
        """Screen ``hits``, score their sentences and compute the answerability features (no alignment): the
        screened hits, scored sentences, features and the question terms' IDF in this tenant's corpus."""
        screened = injection_guard.screen(question, hits)  # flagged or stuffed passages never answer
        scored = injection_guard.answerable(question, score_sentences(question, screened.hits, self.embedder))
        idf = self.retriever.store.term_idf(tenant, query_terms(question))
        features = extract_features(question, hits, scored, idf, k1=self.retriever.store.bm25_k1)
        return screened.hits, scored, features, idf

    def model_request(self, p: Prepared) -> ChatRequest | None:
        """The generation request for ``p`` (passages fenced as data), or None in extractive mode."""
        if p.mode not in MODEL_FOR_MODE:
            return None
        prompt = self.prompts.resolve(p.caller.tenant, "answer", sticky=p.sticky)
        p.prompt = prompt.ref
        system, user = generative.build_messages(p.rewrite.question, p.hits, prompt)
        return ChatRequest(
            model=self._model_name(p.mode),
            temperature=0.0,
            seed=0,
            max_tokens=self.settings.max_tokens,
            messages=(Message("system", system), Message("user", user)),
            context=dataclasses.replace(p.caller, retrieval_confidence=p.best, prompt=prompt.ref),
        )

    def verify(self, p: Prepared, generated: str) -> generative.Checked:
        """Rule 3 of :mod:`.injection_guard` and the citation check: the generated sentences the evidence supports."""
        with tracing.stage("verification") as span:
            relevant = injection_guard.relevant(p.scored)
            kept, echoed = injection_guard.strip_echoes(generated, relevant, p.result.hits)
            checked = generative.check_citations(kept, relevant, self.embedder, self._judge(p.caller, p.sticky))
            span.set_attribute("ragwright.verification.dropped", len(echoed) + len(checked.dropped))
            return dataclasses.replace(checked, dropped=echoed + checked.dropped)

    def ask(
        self,
        tenant: str,
        question: str,
        *,
        filters: Filters | None = None,
        generator: GeneratorName | None = None,
        history: Sequence[Turn] = (),
        caller: RequestContext | None = None,
    ) -> Answer:
        with tracing.stage("answer", {"ragwright.generator": generator or self.settings.generator}) as span:
            answer = self._ask(tenant, question, filters=filters, generator=generator, history=history, caller=caller)
            span.set_attribute("ragwright.abstained", answer.abstained)
            span.set_attribute("ragwright.answered_by", str(answer.answered_by.value))
            return answer

    def _ask(
        self,
        tenant: str,
        question: str,
        *,
        filters: Filters | None,
        generator: GeneratorName | None,
        history: Sequence[Turn],
        caller: RequestContext | None,
    ) -> Answer:
        p = self.prepare(tenant, question, filters=filters, generator=generator, history=history, caller=caller)
        if p.abstained is not None:
            return p.abstained
        clock = time.perf_counter()
        request = self.model_request(p) if self.chat is not None else None
        if request is None or self.chat is None:
            return self.extractive(p)
        try:
            reply = self.chat(request)
        except GatewayError as exc:
            return self.extractive(p, Fallback(FallbackCause.MODEL_ERROR, request.model, type(exc).__name__, str(exc)))
        checked = self.verify(p, reply.text)
        p.timings["generate"] = (time.perf_counter() - clock) * 1000.0
        return self.from_model(p, checked, reply.model, usage_of(reply.usage), reply.cost_usd)

    def from_model(
        self, p: Prepared, checked: generative.Checked, model: str, usage: dict[str, int], cost: float | None
    ) -> Answer:
        """The answer a model's verified reply makes: its supported sentences, the model's abstention, or the
        extractive answer when nothing it wrote is supported."""
        features = p.features
        by_model = Answer(
            question=p.question,
            text=checked.text,
            citations=checked.citations,
            abstained=False,
            support=p.best,
            answered_by=AnsweredBy.for_model(model),
            model=model,
            flagged=checked.dropped,
            timings_ms=p.timings,
            retrieved=p.retrieved,
            cost_usd=cost,
            usage=usage,
            model_abstained=checked.model_abstained,
            answerability=(
                self.model.probability(features.with_generator(True), self.calibration(p.tenant))
                if checked.model_abstained
                else p.answerability
            ),
            features=features.with_generator(checked.model_abstained),
        )
        if checked.text:
            return p.tag(by_model)
        if checked.model_abstained:  # the model's own "not in the documents" is an abstention
            return p.tag(
                dataclasses.replace(
                    by_model,
                    text=ABSTAIN_TEXT,
                    abstained=True,
                    answered_by=AnsweredBy.ABSTAINED,
                    abstention=AbstentionReason.MODEL,
                    closest=_closest(p.scored),
                )
            )
        return self.extractive(
            p, Fallback(FallbackCause.NOTHING_SUPPORTED, model), dropped=checked.dropped, usage=usage, cost=cost
        )

    def extractive(
        self,
        p: Prepared,
        fallback: Fallback | None = None,
        *,
        dropped: list[str] | None = None,
        usage: dict[str, int] | None = None,
        cost: float | None = None,
    ) -> Answer:
        """The extractive answer for ``p`` (quoted evidence sentences), with why a model did not answer, if one was
        asked."""
        clock = time.perf_counter()
        text, citations = extractive.compose(extractive.select(p.scored, max_sentences=self.settings.max_sentences))
        now = time.perf_counter()
        p.timings["answer"] = (now - clock) * 1000.0
        tracing.lap("extractive", clock, now)
        return p.tag(
            Answer(
                question=p.question,
                text=text,
                citations=citations,
                abstained=False,
                support=p.best,
                answered_by=AnsweredBy.EXTRACTIVE,
                flagged=dropped or [],
                timings_ms=p.timings,
                retrieved=p.retrieved,
                cost_usd=cost,
                usage=usage or {},
                fallback=fallback,
                answerability=p.answerability,
                features=p.features,
            )
        )

    def _model_name(self, mode: GeneratorName) -> str:
        """The gateway model that writes answers (and rewrites follow-ups) in ``mode``."""
        return f"local:{self.settings.local_model}" if mode == "local" else MODEL_FOR_MODE.get(mode, "")

    def _judge(self, caller: RequestContext, sticky: str | None = None) -> ModelJudge | None:
        model = self.settings.verifier_model
        if not model or self.chat is None:
            return None
        prompt = self.prompts.resolve(caller.tenant, "verify_judge", sticky=sticky)
        return ModelJudge(self.chat, model, context=caller, prompt=prompt)

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


@dataclass(slots=True)
class Prepared:
    """A question after rewrite, retrieval, screening and scoring: what every answerer starts from."""

    question: str
    """As asked."""
    rewrite: Rewrite
    """What was retrieved and scored (the question itself, or a follow-up rewritten with the conversation)."""
    mode: GeneratorName
    tenant: str
    """The store tenant searched."""
    result: SearchResult
    hits: list[Hit]
    """The hits that may answer (flagged and keyword-stuffed passages left out)."""
    scored: list[EvidenceSentence]
    best: float
    features: AnswerabilityFeatures
    answerability: float
    caller: RequestContext = field(default_factory=RequestContext)
    """Who asks: the context of every model call made for this question."""
    timings: dict[str, float] = field(default_factory=dict)
    retrieved: list[Retrieved] = field(default_factory=list)
    abstained: Answer | None = None
    sticky: str | None = None
    """What keeps this caller on one arm of a prompt A/B split (the API key, or the conversation's first question)."""
    prompt: PromptRef | None = None
    """The answer prompt version the model request was rendered from (set by ``Asker.model_request``)."""

    def tag(self, answer: Answer) -> Answer:
        """``answer`` with the question as asked, the prompt version it was written with and, for a rewritten
        follow-up, what was retrieved."""
        answer.question = self.question
        if answer.model is not None and self.prompt is not None:
            answer.prompt = self.prompt
        if self.rewrite.method is not RewriteMethod.NONE:
            answer.rewritten_question = self.rewrite.question
        return answer


def usage_of(u: Usage) -> dict[str, int]:
    """A model call's token counts as the answer records them."""
    return {
        "input_tokens": u.input_tokens,
        "cached_input_tokens": u.cached_input_tokens,
        "output_tokens": u.output_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    }

"""A model's yes/no judgment of whether the evidence supports a sentence, through the gateway.

The judge is asked one short question per sentence (the sentence, and the passage holding its best-matching evidence
sentence). Where the provider returns log-probabilities (OpenAI-compatible servers, asked with ``top_logprobs``), the
verdict is the probability of "yes" against "no" over the first token's alternatives, compared with a threshold;
otherwise it is the label the model wrote. A failed call, or a reply that is neither yes nor no, leaves the offline
verdict in place: the offline check is the fallback, never skipped.

Example::

    judge = ModelJudge(gateway.chat, "openai:gpt-4o-mini")
    verdicts = judge.review(sentences, evidence, verify_offline(sentences, evidence, embedder))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ragwright.answering.verify import EvidenceText, Failure, Verdict, verify_offline
from ragwright.errors import GatewayError
from ragwright.gateway.types import ChatRequest, ChatResponse, Message, RequestContext
from ragwright.prompts.model import PromptVersion
from ragwright.prompts.packaged import packaged

MAX_EVIDENCE_CHARS = 3000

ChatFn = Callable[[ChatRequest], ChatResponse]


def judge_message(sentence: str, evidence: str) -> str:
    question = "Does the evidence support the claim? Answer yes or no."
    return f"<evidence>\n{evidence}\n</evidence>\n\nClaim: {sentence}\n{question}"


def probability_of_yes(reply: ChatResponse) -> float | None:
    """P(yes) from the first token's alternatives when the reply carries log-probabilities, else None."""
    if not reply.logprobs:
        return None
    first = reply.logprobs[0]
    options = list(first.top) or [(first.token, first.logprob)]
    yes = sum(math.exp(lp) for tok, lp in options if _word(tok) == "yes")
    no = sum(math.exp(lp) for tok, lp in options if _word(tok) == "no")
    if yes + no == 0.0:
        return None
    return yes / (yes + no)


def label_of(text: str) -> bool | None:
    """True for a reply that starts with yes, False for no, None for anything else."""
    word = _word(text.split()[0]) if text.split() else ""
    return {"yes": True, "no": False}.get(word)


def _word(token: str) -> str:
    return "".join(ch for ch in token.lower() if ch.isalpha())


@dataclass
class ModelJudge:
    """Yes/no entailment by a model through the gateway (one call per sentence), falling back to the offline
    verdict when the call fails or the reply is neither yes nor no."""

    chat: ChatFn
    model: str
    threshold: float = 0.5
    context: RequestContext = field(default_factory=RequestContext)
    """Who asks (tenant, key, knowledge base): budgets, limits and the usage ledger read it."""
    top_logprobs: int = 5
    prompt: PromptVersion = field(default_factory=lambda: packaged("verify_judge"))
    """The system prompt (registry name ``verify_judge``; no variables)."""

    def request(self, sentence: str, evidence: str) -> ChatRequest:
        system = self.prompt.render().strip()
        return ChatRequest(
            model=self.model,
            messages=(Message("system", system), Message("user", judge_message(sentence, evidence))),
            temperature=0.0,
            seed=0,
            max_tokens=2,
            top_logprobs=self.top_logprobs,
            context=replace(self.context, prompt=self.prompt.ref),
        )

    def judge(self, sentence: str, evidence: Sequence[EvidenceText], offline: Verdict) -> Verdict:
        """The model's verdict on one sentence, or ``offline`` when the model cannot give one."""
        if offline.failure is Failure.REPEAT:
            return offline  # repeats are collapsed, never judged
        try:
            reply = self.chat(self.request(sentence, _passage_of(evidence, offline.evidence)))
        except GatewayError:
            return offline
        p = probability_of_yes(reply)
        if p is None:
            label = label_of(reply.text)
            if label is None:
                return offline
            p = 1.0 if label else 0.0
        supported = p >= self.threshold
        return replace(
            offline, supported=supported, failure=None if supported else Failure.JUDGE, score=p, judged_by="model"
        )

    def judge_pair(self, sentence: str, evidence: Sequence[EvidenceText]) -> Verdict:
        """The judge on one sentence (benchmarks); the offline check (without embeddings) only picks the passage."""
        return self.judge(sentence, evidence, verify_offline([sentence], evidence, None)[0])

    def review(
        self, sentences: Sequence[str], evidence: Sequence[EvidenceText], offline: Sequence[Verdict]
    ) -> list[Verdict]:
        return [self.judge(s, evidence, v) for s, v in zip(sentences, offline, strict=True)]


def _passage_of(evidence: Sequence[EvidenceText], best: int | None) -> str:
    """The passage holding the best-matching evidence sentence (all evidence when there is none), bounded."""
    if best is None:
        chosen = list(evidence)
    else:
        chosen = [e for e in evidence if e.passage == evidence[best].passage]
    return " ".join(e.text for e in chosen)[:MAX_EVIDENCE_CHARS]

"""Router: complexity signals and the cheap/strong choice."""

from __future__ import annotations

from policy_helpers import request

from ragwright.gateway import ChatRequest, Message, RequestContext, collect
from ragwright.gateway.policies.router import Router, complexity
from ragwright.testing import FakeChatModel


def ask(text: str, confidence: float | None = None) -> ChatRequest:
    return ChatRequest(
        model="rag",
        messages=(Message("system", "be brief " * 200), Message("user", text)),
        context=RequestContext(retrieval_confidence=confidence),
    )


def test_signals_move_the_score_the_right_way() -> None:
    lookup = complexity(ask("What is the capital of France?", 0.9))
    reasoning = complexity(ask("Why is the capital of France Paris?", 0.9))
    several = complexity(ask("What is the capital of France? And when was it founded?", 0.9))
    weak = complexity(ask("What is the capital of France?", 0.1))
    longer = complexity(ask("What is the capital of France, " + "given all the history " * 15 + "?", 0.9))
    assert lookup < 0.2
    assert reasoning > lookup and several > lookup and weak > lookup and longer > lookup
    assert complexity(ask("What is it?")) > complexity(ask("What is it?", 1.0))  # unknown confidence is middling
    hard = complexity(ask("Explain why the cache misses and how it compares with Redis? Which should we pick?", 0.2))
    assert 0.5 <= hard <= 1.0


async def test_routes_by_threshold_and_reports_the_model() -> None:
    cheap, strong = (
        FakeChatModel(["c"], cycle=True, name="fake:cheap"),
        FakeChatModel(["s"], cycle=True, name="fake:strong"),
    )
    router = Router(cheap, strong, threshold=0.5)
    assert (await router.chat(ask("What is the capital of France?", 0.9))).model == "fake:cheap"
    hard = ask("Why does retrieval fail here, and how should we compare the two fixes?", 0.2)
    assert (await router.chat(hard)).model == "fake:strong"
    assert (await collect(router.stream(hard))).model == "fake:strong"
    assert router.routed == {"cheap": 1, "strong": 2}
    assert router.candidate_names() == ["fake:cheap", "fake:strong"]


async def test_disabled_router_always_uses_the_strong_model() -> None:
    cheap, strong = FakeChatModel([], name="fake:cheap"), FakeChatModel(["s"], name="fake:strong")
    router = Router(cheap, strong, threshold=0.5, enabled=False)
    assert (await router.chat(request("hi"))).model == "fake:strong" and cheap.calls == 0

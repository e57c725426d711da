"""Helpers for the policy tests: a manual clock and a request builder."""

from __future__ import annotations

from ragwright.gateway import ChatRequest, Message, RequestContext


class ManualClock:
    """Monotonic seconds that move only when told (``advance``) or when ``sleep`` is awaited."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def request(
    text: str = "what is two plus two",
    *,
    tenant: str = "default",
    key: str | None = None,
    max_tokens: int | None = 16,
    **kw: object,
) -> ChatRequest:
    return ChatRequest(
        model="rag",
        messages=(Message("user", text),),
        max_tokens=max_tokens,
        context=RequestContext(tenant=tenant, key_id=key),
        **kw,
    )  # type: ignore[arg-type]


NO_LIMITS: dict[str, object] = dict(
    per_key_rpm=None,
    per_key_tpm=None,
    per_tenant_rpm=None,
    per_tenant_tpm=None,
    per_model_rpm=None,
    per_model_tpm=None,
)
"""RateLimit's limits, all off: tests turn on the ones they need."""

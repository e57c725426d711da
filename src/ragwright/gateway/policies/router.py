"""Router: send easy requests to a cheap model and hard ones to a strong model.

:func:`complexity` scores the last user message from 0 (easy) to 1 (hard), from four signals:

- **length**: longer questions tend to need more reasoning (up to +0.25 at 80 words);
- **question type**: why / how / explain / compare / analyse / difference / trade-off ask for reasoning (+0.4);
  what / when / who / where / which / list / define ask for a lookup (+0.0);
- **several questions** in one message (+0.15 for each extra one, at most +0.3);
- **retrieval confidence** (``request.context.retrieval_confidence``, 0..1): weak evidence means the model must
  do more with less (+0.3 * (1 - confidence)); unknown confidence counts as middling (+0.1).

At or above ``threshold`` (``[gateway.router] threshold``) the strong model answers. The reply's ``model`` says
which one did, and ``Router.choose`` returns the choice without calling anything.

Example::

    router = Router(cheap=gpt_mini_stack, strong=gpt_stack, threshold=0.5)
    (await router.chat(request)).model   # 'openai:gpt-4o-mini' or 'openai:gpt-4o'
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from ragwright.gateway.base import ChatModel, WrapperModel
from ragwright.gateway.policies._shared import candidate_names
from ragwright.gateway.types import ChatRequest, ChatResponse, Chunk

_REASONING = re.compile(
    r"\b(why|how|explain|compare|comparison|contrast|analy[sz]e|difference|differ|trade-?offs?|"
    r"pros and cons|evaluate|justify|implications?|reason|versus|vs\.?|should)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"(?:^|[.?!;]\s+|\band\s+)(what|when|who|where|which|why|how|is|are|does|do|can|"
    r"should|could|would|will)\b",
    re.I,
)


def _question(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.content:
            return message.content
    return request.prompt_text


def complexity(request: ChatRequest) -> float:
    """How hard ``request`` looks, in 0..1 (see the module docstring for the signals)."""
    text = _question(request)
    words = len(text.split())
    score = 0.25 * min(1.0, words / 80)
    if _REASONING.search(text):
        score += 0.4
    questions = max(text.count("?"), len(_QUESTION_START.findall(text)) if "?" in text else 0, 1)
    score += min(0.3, 0.15 * (questions - 1))
    confidence = request.context.retrieval_confidence
    score += 0.1 if confidence is None else 0.3 * (1.0 - min(1.0, max(0.0, confidence)))
    return max(0.0, min(1.0, score))


class Router(WrapperModel):
    """``name`` is ``router:<cheap>|<strong>``; the inner model (for ``aclose``) is the strong one."""

    def __init__(self, cheap: ChatModel, strong: ChatModel, *, threshold: float = 0.5, enabled: bool = True) -> None:
        super().__init__(strong)
        self.cheap = cheap
        self.strong = strong
        self.threshold = threshold
        self.enabled = enabled
        self.routed = {"cheap": 0, "strong": 0}

    @property
    def name(self) -> str:
        return f"router:{self.cheap.name}|{self.strong.name}"

    def candidate_names(self) -> list[str]:
        return candidate_names(self.cheap) + candidate_names(self.strong)

    def choose(self, request: ChatRequest) -> ChatModel:
        strong = not self.enabled or complexity(request) >= self.threshold
        self.routed["strong" if strong else "cheap"] += 1
        return self.strong if strong else self.cheap

    async def chat(self, request: ChatRequest) -> ChatResponse:
        return await self.choose(request).chat(request)

    def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        return self.choose(request).stream(request)

    async def aclose(self) -> None:
        await self.cheap.aclose()
        await self.strong.aclose()

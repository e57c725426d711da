"""Log-probabilities over the OpenAI-compatible wire: asked for with ``top_logprobs``, parsed into TokenLogprob."""

from __future__ import annotations

import math

from ragwright.answering.verify_judge import probability_of_yes
from ragwright.gateway.providers.openai import OpenAIChatModel
from ragwright.gateway.types import ChatRequest, Message, TokenLogprob


def test_request_asks_for_logprobs_only_when_told() -> None:
    model = OpenAIChatModel("judge", base_url="http://127.0.0.1:9/v1")
    plain = ChatRequest(model="x", messages=(Message("user", "Hi"),))
    assert "logprobs" not in model.payload(plain, stream=False)
    body = model.payload(plain.replace(top_logprobs=5), stream=False)
    assert body["logprobs"] is True and body["top_logprobs"] == 5


def test_reply_logprobs_are_parsed_and_give_the_judge_probability() -> None:
    model = OpenAIChatModel("judge", base_url="http://127.0.0.1:9/v1")
    first = {
        "token": "yes",
        "logprob": math.log(0.7),
        "top_logprobs": [{"token": "yes", "logprob": math.log(0.7)}, {"token": "no", "logprob": math.log(0.2)}],
    }
    data = {
        "id": "c1",
        "choices": [
            {
                "message": {"role": "assistant", "content": "yes"},
                "finish_reason": "stop",
                "logprobs": {"content": [first, {"token": "!", "logprob": "bad"}]},
            }
        ],
    }
    reply = model.parse(data)
    assert reply.logprobs == (TokenLogprob("yes", math.log(0.7), (("yes", math.log(0.7)), ("no", math.log(0.2)))),)
    assert abs((probability_of_yes(reply) or 0.0) - 0.7 / 0.9) < 1e-9
    no_logprobs = model.parse({"choices": [{"message": {"role": "assistant", "content": "no"}}]})
    assert no_logprobs.logprobs == () and probability_of_yes(no_logprobs) is None

"""The sentences of a model's reply, its own ``[n]`` markers removed: one implementation for ``ask`` and agents."""

from __future__ import annotations

from ragwright.agents import evidence
from ragwright.answering import generative
from ragwright.answering.sentences import reply_sentences


def test_reply_sentences_drop_the_models_markers_and_empty_sentences() -> None:
    reply = "The warranty lasts 3 years [1]. Returns take 30 days [2, 3].\n\n[4]\n\nShipping is free [1][2]."
    assert reply_sentences(reply) == ["The warranty lasts 3 years.", "Returns take 30 days.", "Shipping is free."]


def test_ask_and_agents_share_the_one_marker_pattern() -> None:
    assert not hasattr(generative, "_MARKER")
    assert not hasattr(evidence, "_MARKER")

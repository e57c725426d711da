"""Test doubles and contract suites shipped with ragwright, for its own tests and for people extending it."""

from ragwright.testing.fake_chat import FakeChatModel, Reply
from ragwright.testing.fakes import FakeEmbedder, FakeGenerator, FakeReranker

__all__ = ["FakeChatModel", "FakeEmbedder", "FakeGenerator", "FakeReranker", "Reply"]

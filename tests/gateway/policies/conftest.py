"""Fixtures for the policy tests."""

from __future__ import annotations

import pytest
from policy_helpers import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()

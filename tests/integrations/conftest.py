"""Fixtures for the outside-HTTP door's tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The door's waits between attempts, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("integrations.http.sleep", waited.append)
    return waited

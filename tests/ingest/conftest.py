"""Fixtures for ingestion tests (file builders live in ingest_files.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rag.config import IngestSettings, Settings


@pytest.fixture()
def small_limits_settings(settings) -> Callable[..., Settings]:
    """`settings` with other ingestion limits, e.g. `small_limits_settings(max_file_mb=0.001)`."""

    def make(**limits) -> Settings:
        return settings.model_copy(update={"ingest": IngestSettings(**limits)})

    return make

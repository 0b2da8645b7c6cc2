from collections.abc import Iterator

import pytest

from src.config import get_settings


@pytest.fixture
def jobs_for_every_upload() -> Iterator[None]:
    """Make every upload "large", so that imports and merges take the worker path."""
    settings = get_settings()
    before = settings.import_inline_max_bytes
    settings.import_inline_max_bytes = 0
    yield
    settings.import_inline_max_bytes = before

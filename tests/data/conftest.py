"""Fixtures for the data tests: the shared datasets root, the hand-written fixtures, the VADER install."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
VADER_SKIP = "vader data not installed; run `python -m labeldist.data.vader --install`"


def shared_folder(name: str) -> Path:
    """``../shared/datasets/<name>``, or skip the test saying it is absent."""
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent (real {name} files come from ../shared/datasets)")
    return path


@pytest.fixture(scope="session")
def shared_root() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"{SHARED_DATASETS} is absent")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def vader_dir() -> Path:
    from labeldist.data.vader import is_installed, vader_data_dir

    path = vader_data_dir()
    if not is_installed(path):
        pytest.skip(VADER_SKIP)
    return path

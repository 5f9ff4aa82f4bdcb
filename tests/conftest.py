"""Every test may use the emulator fixtures (``lync_emulator``, ``make_lync_emulator``), and
each test gets a journal directory of its own (provider processes inherit the environment)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from lync_provider.remoting.session import close_all_sessions
from lync_provider.resources.journal import JOURNAL_ENV

pytest_plugins = ["lync_emulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def journal_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's providers journal unfinished creates."""
    directory = tmp_path_factory.mktemp("journal")
    monkeypatch.setenv(JOURNAL_ENV, str(directory))
    return directory


@pytest.fixture(autouse=True)
def fresh_session_registry() -> Iterator[None]:
    """Forget the provider's process-wide sessions after each test: they point at this
    test's emulator, and a later test's emulator may be given the same port."""
    yield
    close_all_sessions()

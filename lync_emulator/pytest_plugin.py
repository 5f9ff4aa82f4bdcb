"""pytest fixtures for tests that need a Lync server.

Enable with ``pytest_plugins = ["lync_emulator.pytest_plugin"]`` in a root conftest, or
``-p lync_emulator.pytest_plugin``. Both fixtures use ephemeral ports, so tests can run in
parallel, and stop every server they started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lync_emulator.emulator import Emulator


@pytest.fixture
def make_lync_emulator() -> Iterator[Callable[..., Emulator]]:
    """A factory: ``make_lync_emulator(auth="ntlm", tls=True, ...)`` returns a started
    :class:`Emulator` with those keyword arguments, stopped when the test ends."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        emulator = Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in reversed(started):
        emulator.stop()


@pytest.fixture
def lync_emulator(make_lync_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator with Basic auth over plain HTTP and no delays: the fast default."""
    return make_lync_emulator()

"""Fixtures: an emulator, the real provider process, and an engine stand-in configured for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from lync_emulator.cmdlets import users as emulated_users
from lync_emulator.emulator import Emulator
from lync_emulator.service import LyncService
from lync_emulator.store import dump_data
from lync_provider.resources.base import LyncProvider
from tests.support.engine import Engine, ProviderProcess, Secret

PROJECT = "lync-provider"


def stack_config(emu: Emulator) -> dict[str, str | Secret]:
    """The `lync:` keys a stack pointed at this emulator would hold."""
    config: dict[str, str | Secret] = {
        "lync:frontEndUrl": emu.frontend_url,
        "lync:username": emu.username,
        "lync:password": Secret(emu.password),
        "lync:auth": "basic",
        "lync:encryption": "never",
    }
    if emu.edge_url:
        config["lync:edgeUrl"] = emu.edge_url
    return config


def plain_config(emu: Emulator) -> dict[str, Any]:
    """The same keys as ``configure()`` receives them: secrets already decrypted."""
    return {k: v.value if isinstance(v, Secret) else v for k, v in stack_config(emu).items()}


def lync_service(emu: Emulator) -> LyncService:
    """The emulator's Lync state model, for a test that reads or seeds it directly (an
    emulator built with a fake service has none)."""
    if not isinstance(emu.service, LyncService):
        raise TypeError("this needs the emulator's own LyncService, not a fake service")
    return emu.service


def seed_users(emu: Emulator, count: int) -> list[str]:
    """Make sure the directory holds the ``count`` users ``sip:bench00000@contoso.com``...
    (besides its own six); their SIP addresses, in order.

    The emulator seeds six users and has no cmdlet that creates one (users live in its
    Active Directory, not the Management Store), so this writes its directory directly,
    each user shaped by the emulator's own helper (``lync_emulator.cmdlets.users._user``)
    as its seed is. Call it while no request is in flight.
    """
    directory = lync_service(emu).directory.setdefault(emulated_users.COLLECTION, {})
    addresses = []
    for index in range(count):
        user = emulated_users._user(f"bench{index:05d}", f"Bench User {index:05d}")
        addresses.append(str(user["SipAddress"]))
        directory.setdefault(addresses[-1].casefold(), user)
    return addresses


def store_state(emu: Emulator) -> Any:
    """Everything the Central Management Store and the directory (users) hold, for
    before/after comparisons (an emptied collection and one never created hold the same)."""
    service = lync_service(emu)
    held = {**dump_data(service.store.snapshot()), **dump_data(service.directory)}
    return {k: v for k, v in held.items() if v}


@dataclass
class Stack:
    """An emulator plus the engine stand-in driving the real provider process against it."""

    emu: Emulator
    engine: Engine
    process: ProviderProcess

    def writes(self) -> int:
        """How many invocations changed the store so far."""
        return len(self.emu.audit.writes())


@pytest.fixture
def stack(lync_emulator: Emulator) -> Iterator[Stack]:
    with ProviderProcess(project=PROJECT) as process:
        yield Stack(lync_emulator, Engine(process, stack_config(lync_emulator)), process)


@pytest.fixture
def configured(lync_emulator: Emulator) -> Callable[[type[LyncProvider]], LyncProvider]:
    """Plain provider objects, configured as the provider process would configure them."""

    def make(cls: type[LyncProvider]) -> LyncProvider:
        provider = cls()
        provider.configure(ConfigureRequest(Config(plain_config(lync_emulator), PROJECT)))
        return provider

    return make

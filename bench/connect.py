"""How the benchmarks reach an emulator: the settings a stack pointed at it would hold."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from pulumi.dynamic import Config, ConfigureRequest

from lync_emulator.emulator import Emulator
from lync_provider.remoting import CmdletCall
from lync_provider.resources.base import LyncProvider
from lync_provider.settings.endpoint import EndpointSettings

PROJECT = "lync-provider"
P = TypeVar("P", bound=LyncProvider)


def endpoint(emu: Emulator) -> EndpointSettings:
    """Basic over plain HTTP to the front end: the cheapest transport, so the numbers show
    the library and the server, not cryptography."""
    return EndpointSettings.model_validate(
        {
            "url": emu.frontend_url,
            "auth": "basic",
            "encryption": "never",
            "username": emu.username,
            "password": emu.password,
        }
    )


def configured(cls: type[P], emu: Emulator) -> P:
    """A provider object configured as the provider process would configure it."""
    config: dict[str, Any] = {
        "lync:frontEndUrl": emu.frontend_url,
        "lync:username": emu.username,
        "lync:password": emu.password,
        "lync:auth": "basic",
        "lync:encryption": "never",
    }
    if emu.edge_url:
        config["lync:edgeUrl"] = emu.edge_url
    provider = cls()
    provider.configure(ConfigureRequest(Config(config, PROJECT)))
    return provider


def open_session(provider: LyncProvider) -> float:
    """Open the provider's shared front-end session now and return how long that took (ms),
    so a benchmark's timed phases hold per-resource costs, not the one-off open."""
    start = time.perf_counter()
    provider.frontend().read(CmdletCall("Get-CsAccessEdgeConfiguration"))
    return (time.perf_counter() - start) * 1000

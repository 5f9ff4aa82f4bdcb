"""The emulated cmdlets, one module per family, and the registry the service looks them up in."""

from __future__ import annotations

from lync_emulator.cmdlets import (
    access_edge,
    external_access_policy,
    hosting_provider,
    management_store,
    modules,
    users,
)
from lync_emulator.cmdlets.base import Cmdlet
from lync_emulator.store import Data

ALL: tuple[Cmdlet, ...] = (
    *access_edge.CMDLETS,
    *hosting_provider.CMDLETS,
    *external_access_policy.CMDLETS,
    *users.CMDLETS,
    *management_store.CMDLETS,
    *modules.CMDLETS,
)
_BY_NAME = {cmdlet.name.casefold(): cmdlet for cmdlet in ALL}


def find(name: str) -> Cmdlet | None:
    """The cmdlet of that name (case-insensitive), or None."""
    return _BY_NAME.get(name.casefold())


def seed_data() -> Data:
    """The Central Management Store of a fresh deployment."""
    return {**access_edge.seed(), **external_access_policy.seed()}


def seed_directory() -> Data:
    """The Active Directory users of a fresh deployment (outside the CMS)."""
    return users.seed()

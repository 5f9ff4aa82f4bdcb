"""Shared helpers for the library's tests: endpoint settings pointed at an emulator."""

from __future__ import annotations

from typing import Any

from lync_emulator.emulator import Emulator
from lync_provider.settings.endpoint import EndpointSettings


def frontend_settings(emu: Emulator, **overrides: Any) -> EndpointSettings:
    """Settings for the emulator's front end: Basic unless ``auth=`` says otherwise."""
    return _settings(emu, emu.frontend_url, **overrides)


def edge_settings(emu: Emulator, **overrides: Any) -> EndpointSettings:
    """Settings for the emulator's Edge endpoint."""
    assert emu.edge_url is not None
    return _settings(emu, emu.edge_url, **overrides)


def _settings(emu: Emulator, url: str, **overrides: Any) -> EndpointSettings:
    fields: dict[str, Any] = {
        "url": url,
        "auth": "basic",
        "username": emu.username,
        "password": emu.password,
        "connect_timeout": 5,
        "operation_timeout": 10,
    }
    if emu.ca_bundle:
        fields["ca_bundle"] = emu.ca_bundle
    fields.update(overrides)
    if url.startswith("http:") and fields["auth"] == "basic":
        fields.setdefault("encryption", "never")
    return EndpointSettings.model_validate(fields)


def settings_for_url(url: str, **overrides: Any) -> EndpointSettings:
    """Basic-over-HTTP settings for an arbitrary URL (e.g. a port nothing listens on)."""
    fields: dict[str, Any] = {
        "url": url,
        "auth": "basic",
        "encryption": "never",
        "username": "lab\\admin",
        "password": "Secret123!",
        "operation_timeout": 1,
    }
    fields.update(overrides)
    return EndpointSettings.model_validate(fields)

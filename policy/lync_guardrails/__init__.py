"""Guardrails for the Lync Edge configuration of the Exchange Online integration, as a
Pulumi CrossGuard policy pack (``policy/__main__.py`` serves them; see
:mod:`lync_guardrails.policies` for each rule and :mod:`lync_guardrails.resources` for how
resources are recognised)."""

from lync_guardrails.policies import POLICIES

PACK_NAME = "lync-guardrails"

__all__ = ["PACK_NAME", "POLICIES"]

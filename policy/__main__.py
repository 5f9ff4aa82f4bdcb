"""The lync-guardrails policy pack, as the Pulumi CLI runs it.

``pulumi preview --policy-pack policy`` (or ``up``) starts ``pulumi-analyzer-policy-python``,
which runs ``../.venv/bin/python -m pulumi.policy <engine> .`` in this directory
(PulumiPolicy.yaml names the project's virtualenv, which has pulumi-policy from
requirements.txt); ``runpy`` puts this directory first on sys.path, so ``lync_guardrails``
imports from here. ``PolicyPack`` serves the analyzer over gRPC and does not return.
"""

from lync_guardrails import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description=(
        "Guardrails for a Lync Server / Skype for Business Server Edge configured for "
        "Exchange Online: hosting provider verification, ProxyFqdn and IsLocal, anonymous "
        "users, and outside access for the granted external access policy."
    ),
)

"""Pulumi dynamic resources that configure a Lync Server 2013 Edge for Exchange Online.

Layers, each importing only its own and those below it: ``lync`` (identities, versions) →
``settings`` (endpoints, stack config) → ``remoting`` (pooled sessions, structured cmdlet
calls, typed errors) → ``resources`` (dynamic providers) → ``replication`` (readiness gate,
Edge verification) → ``integration`` (the component) → ``program`` → ``cli``.
See docs/architecture.md.
"""

from lync_provider.integration import ExchangeOnlineIntegration, ExchangeOnlineIntegrationArgs
from lync_provider.replication import (
    EdgeVerification,
    EdgeVerificationArgs,
    ReplicationGate,
    ReplicationGateArgs,
)
from lync_provider.resources import (
    AccessEdgeConfig,
    AccessEdgeConfigArgs,
    ExternalAccessPolicy,
    ExternalAccessPolicyArgs,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentArgs,
    HostingProvider,
    HostingProviderArgs,
    LyncResourceError,
)

__all__ = [
    "AccessEdgeConfig",
    "AccessEdgeConfigArgs",
    "EdgeVerification",
    "EdgeVerificationArgs",
    "ExchangeOnlineIntegration",
    "ExchangeOnlineIntegrationArgs",
    "ExternalAccessPolicy",
    "ExternalAccessPolicyArgs",
    "ExternalAccessPolicyAssignment",
    "ExternalAccessPolicyAssignmentArgs",
    "HostingProvider",
    "HostingProviderArgs",
    "LyncResourceError",
    "ReplicationGate",
    "ReplicationGateArgs",
]

"""The Pulumi dynamic resources: one module per Lync cmdlet family."""

from lync_provider.resources.access_edge import (
    AccessEdgeConfig,
    AccessEdgeConfigArgs,
    AccessEdgeConfigProvider,
)
from lync_provider.resources.assignment import (
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentArgs,
    ExternalAccessPolicyAssignmentProvider,
)
from lync_provider.resources.base import LyncResourceError
from lync_provider.resources.external_access_policy import (
    ExternalAccessPolicy,
    ExternalAccessPolicyArgs,
    ExternalAccessPolicyProvider,
)
from lync_provider.resources.hosting_provider import (
    HostingProvider,
    HostingProviderArgs,
    HostingProviderProvider,
)

__all__ = [
    "AccessEdgeConfig",
    "AccessEdgeConfigArgs",
    "AccessEdgeConfigProvider",
    "ExternalAccessPolicy",
    "ExternalAccessPolicyArgs",
    "ExternalAccessPolicyAssignment",
    "ExternalAccessPolicyAssignmentArgs",
    "ExternalAccessPolicyAssignmentProvider",
    "ExternalAccessPolicyProvider",
    "HostingProvider",
    "HostingProviderArgs",
    "HostingProviderProvider",
    "LyncResourceError",
]

"""ExchangeOnlineIntegration: the whole Lync-side procedure as one component.

1. the shared SIP address space (AccessEdgeConfig ``allow_federated_users=True``);
2. the Exchange Online hosting provider (worldwide ``exap.um.outlook.com``, Office 365 operated
   by 21Vianet ``exap.um.partner.outlook.cn``, or an explicit ProxyFqdn);
3. an external access policy that allows communications with remote users, on Global, a site
   or a tag (granted to the given users when it is a tag);
4. proof of replication: the ReplicationGate, triggered by the access edge, the hosting
   provider and the policy (a grant writes the directory, not the Central Management Store,
   so the assignment is only waited for), then EdgeVerification on the Edge's local store.

Usable from any Pulumi Python program; ``__main__.py`` of this project is one such program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from lync_provider.lync.identities import canonical_policy_identity, policy_scope
from lync_provider.replication import EdgeVerification, ReplicationGate
from lync_provider.resources import (
    AccessEdgeConfig,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    HostingProvider,
)
from lync_provider.resources.resource import LyncResource

Cloud = Literal["worldwide", "21vianet"]
PROXY_FQDNS: dict[str, str] = {
    "worldwide": "exap.um.outlook.com",
    "21vianet": "exap.um.partner.outlook.cn",
}
HOSTING_PROVIDER_IDENTITY = "Exchange Online"


@dataclass
class ExchangeOnlineIntegrationArgs:
    """What to configure. Defaults follow Microsoft's procedure for Lync Server 2013.

    ``policy_identity``: ``Global``, ``site:<name>`` or ``tag:<name>``; with a tag,
    ``policy_users`` are granted it. ``adopt_existing`` takes over a hosting provider or
    site/tag policy that already exists instead of failing.
    """

    cloud: Cloud = "worldwide"
    proxy_fqdn: str | None = None
    hosting_provider_identity: str = HOSTING_PROVIDER_IDENTITY
    policy_identity: str = "Global"
    policy_users: Sequence[str] = field(default_factory=list)
    adopt_existing: bool = False
    replicas: Sequence[str] | None = None
    replication_timeout_seconds: float = 600.0
    force_replication_after_seconds: float | None = None
    poll_min_seconds: float = 2.0
    poll_max_seconds: float = 15.0
    verify_edge: bool = True
    edge_timeout_seconds: float = 300.0

    def resolved_proxy_fqdn(self) -> str:
        """The explicit override, or the cloud's documented ProxyFqdn."""
        return self.proxy_fqdn or PROXY_FQDNS[self.cloud]


class ExchangeOnlineIntegration(pulumi.ComponentResource):
    """Edge configuration for Outlook Web App IM and presence with Exchange Online."""

    access_edge: AccessEdgeConfig
    hosting_provider: HostingProvider
    policy: ExternalAccessPolicy
    assignment: ExternalAccessPolicyAssignment | None
    gate: ReplicationGate
    edge_verification: EdgeVerification | None

    def __init__(
        self,
        name: str,
        args: ExchangeOnlineIntegrationArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("lync:index:ExchangeOnlineIntegration", name, None, opts)
        args = args or ExchangeOnlineIntegrationArgs()
        policy_id = canonical_policy_identity(args.policy_identity)
        scope = policy_scope(policy_id)
        if args.policy_users and scope != "Tag":
            raise ValueError(
                f"policy_users can only be granted a tag policy, not {policy_id!r}: a Global "
                "or site policy applies to users without a grant"
            )
        child = pulumi.ResourceOptions(parent=self)

        self.access_edge = AccessEdgeConfig(
            f"{name}-access-edge", allow_federated_users=True, opts=child
        )
        self.hosting_provider = HostingProvider(
            f"{name}-hosting-provider",
            identity=args.hosting_provider_identity,
            enabled=True,
            enabled_shared_address_space=True,
            hosts_ocs_users=False,
            proxy_fqdn=args.resolved_proxy_fqdn(),
            is_local=False,
            verification_level="UseSourceVerification",
            adopt=args.adopt_existing or None,
            opts=child,
        )
        self.policy = ExternalAccessPolicy(
            f"{name}-external-access-policy",
            identity=policy_id,
            enable_outside_access=True,
            adopt=(args.adopt_existing and scope != "Global") or None,
            opts=child,
        )
        # What the Central Management Store replicates; the assignment only writes AD.
        replicated: list[LyncResource] = [self.access_edge, self.hosting_provider, self.policy]
        configuration = list(replicated)
        self.assignment = None
        if args.policy_users:
            self.assignment = ExternalAccessPolicyAssignment(
                f"{name}-policy-assignment",
                policy_name=self.policy.identity,
                users=list(args.policy_users),
                opts=child,
            )
            configuration.append(self.assignment)

        self.gate = ReplicationGate(
            f"{name}-replication",
            triggers=[
                self.access_edge.allow_federated_users,
                self.hosting_provider.proxy_fqdn,
                self.hosting_provider.enabled,
                self.policy.identity,
                self.policy.enable_outside_access,
            ],
            changed_after=[r.changed_at for r in replicated],
            replicas=list(args.replicas) if args.replicas else None,
            timeout_seconds=args.replication_timeout_seconds,
            poll_min_seconds=args.poll_min_seconds,
            poll_max_seconds=args.poll_max_seconds,
            force_replication_after_seconds=args.force_replication_after_seconds,
            opts=pulumi.ResourceOptions(parent=self, depends_on=configuration),
        )

        self.edge_verification = None
        if args.verify_edge:
            self.edge_verification = EdgeVerification(
                f"{name}-edge-verification",
                # Any write (a drift fix included) changes changed_at: verify the Edge again.
                triggers=[r.changed_at for r in replicated],
                hosting_providers=[
                    {
                        "identity": args.hosting_provider_identity,
                        "proxy_fqdn": args.resolved_proxy_fqdn(),
                        "enabled": True,
                        "enabled_shared_address_space": True,
                        "hosts_ocs_users": False,
                        "verification_level": "UseSourceVerification",
                    }
                ],
                access_edge={"allow_federated_users": True},
                external_access_policies=[{"identity": policy_id, "enable_outside_access": True}],
                timeout_seconds=args.edge_timeout_seconds,
                poll_min_seconds=args.poll_min_seconds,
                poll_max_seconds=args.poll_max_seconds,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gate]),
            )

        self.register_outputs(
            {
                "proxy_fqdn": args.resolved_proxy_fqdn(),
                "hosting_provider": args.hosting_provider_identity,
                "policy": policy_id,
                "policy_users": list(args.policy_users),
                "replica_status": self.gate.replica_status,
                "replication_waited_seconds": self.gate.waited_seconds,
            }
        )

"""The guardrails: what a Lync Edge configured for Exchange Online must never (or should not)
look like. Each policy is a pulumi_policy object whose ``validate`` tests call directly.

=============================================== ======== ========= ========================
policy                                          kind     level     config
=============================================== ======== ========= ========================
lync-hosting-provider-not-always-unverifiable   resource advisory
lync-anonymous-users-only-when-allowed          resource mandatory allowAnonymousUsers
lync-exchange-online-proxy-fqdn                 resource mandatory exchangeOnlineIdentities,
                                                                   additionalProxyFqdns
lync-granted-policy-allows-outside-access       stack    advisory
lync-local-hosting-provider-only-in-lab         resource mandatory labStacks
=============================================== ======== ========= ========================

Mandatory: the settings that open the Edge or send the organisation's IM and presence
somewhere else. Advisory: the settings that break Outlook Web App IM without exposing
anything; ``policy/config/prod.json`` raises both to mandatory for production.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from lync_guardrails.resources import (
    ACCESS_EDGE_CONFIG,
    EXCHANGE_ONLINE_IDENTITY,
    EXCHANGE_ONLINE_PROXY_FQDNS,
    EXTERNAL_ACCESS_POLICY,
    EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
    HOSTING_PROVIDER,
    as_bool,
    current_stack,
    declared_by_integration,
    fqdn,
    same_policy_identity,
    same_word,
    strings,
)

DEFAULT_LAB_STACKS = ("local",)


def _name(args: ResourceValidationArgs) -> str:
    """How a message names the resource: its Lync identity, else its Pulumi name."""
    try:
        identity = args.props.get("identity")
    except UnknownValueError:
        identity = None
    return f"{identity!r}" if isinstance(identity, str) else f"{args.name!r}"


# -- no AlwaysUnverifiable hosting provider -------------------------------------------------


def validate_verification_level(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A HostingProvider whose ``verification_level`` is AlwaysUnverifiable."""
    if args.resource_type != HOSTING_PROVIDER:
        return
    if same_word(args.props.get("verification_level"), "AlwaysUnverifiable"):
        report(
            f"HostingProvider {_name(args)} has verification_level AlwaysUnverifiable: Lync "
            "then treats every message from this provider as unverified and delivers it only "
            "to users who have the sender in their contacts, so Outlook Web App IM and presence "
            "stop working. Set verification_level='UseSourceVerification' (what Microsoft "
            "documents for Exchange Online) or 'AlwaysVerifiable'.",
            None,
        )


no_always_unverifiable = ResourceValidationPolicy(
    name="lync-hosting-provider-not-always-unverifiable",
    description="No hosting provider may use verification level AlwaysUnverifiable.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=validate_verification_level,
)


# -- allow_anonymous_users only when the pack's config allows it ----------------------------


def validate_anonymous_users(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """AccessEdgeConfig ``allow_anonymous_users=True`` without ``allowAnonymousUsers: true``."""
    if args.resource_type != ACCESS_EDGE_CONFIG:
        return
    if as_bool(args.props.get("allow_anonymous_users")) is not True:
        return
    if args.get_config().get("allowAnonymousUsers") is True:
        return
    report(
        f"AccessEdgeConfig {args.name!r} sets allow_anonymous_users=True: the Edge would accept "
        "connections from anonymous (unauthenticated) users on the internet, which the "
        "Exchange Online integration does not need. Remove the input (or set it False). If this "
        "environment must admit anonymous users, say so in the pack config: "
        '{"lync-anonymous-users-only-when-allowed": {"allowAnonymousUsers": true}} '
        "passed with --policy-pack-config.",
        None,
    )


anonymous_users_only_when_allowed = ResourceValidationPolicy(
    name="lync-anonymous-users-only-when-allowed",
    description=(
        "The access edge configuration may allow anonymous users only when the policy "
        "pack's config explicitly allows it (allowAnonymousUsers)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_anonymous_users,
    config_schema=PolicyConfigSchema(
        properties={
            "allowAnonymousUsers": {
                "type": "boolean",
                "default": False,
                "description": "Let AccessEdgeConfig set allow_anonymous_users=True.",
            }
        }
    ),
)


# -- the Exchange Online hosting provider's ProxyFqdn --------------------------------------


def _looks_like_exchange_um(host: str) -> bool:
    """An Exchange UM / Exchange Online endpoint: ``exap.*`` or a name under outlook.com or
    outlook.cn (``exap.um.outlok.com`` and ``exap.um.office365.us`` count; a partner's
    ``sip.fabrikam.com`` does not)."""
    labels = host.split(".")
    return labels[0] == "exap" or any(
        host == domain or host.endswith(f".{domain}") for domain in ("outlook.com", "outlook.cn")
    )


def is_exchange_online_provider(
    args: ResourceValidationArgs, identities: Iterable[str] = (EXCHANGE_ONLINE_IDENTITY,)
) -> bool:
    """Whether this HostingProvider is the one for Exchange Online.

    Any of three signs is enough, because each alone misses a case:

    * it is the hosting provider an ``ExchangeOnlineIntegration`` component declares (its
      URN's parent type is the component's): that one is Exchange Online by construction,
      whatever ``lync:hostingProviderIdentity`` renamed it to;
    * its identity is ``Exchange Online`` (Microsoft's documented name; Lync compares
      identities without regard to case) or one of ``exchangeOnlineIdentities``: a program
      that declares HostingProvider itself, with a mistyped ProxyFqdn;
    * its proxy_fqdn looks like an Exchange UM endpoint (``exap.*``, ``*.outlook.com``,
      ``*.outlook.cn``): a provider under another identity that points at Exchange anyway,
      e.g. a retired or sovereign-cloud FQDN.

    A federation partner (``sip.fabrikam.com``) under its own identity matches none.
    """
    if declared_by_integration(args.urn):
        return True
    identity = args.props.get("identity")
    if isinstance(identity, str) and identity.strip().casefold() in {
        i.strip().casefold() for i in identities
    }:
        return True
    host = fqdn(args.props.get("proxy_fqdn"))
    return host is not None and _looks_like_exchange_um(host)


def validate_proxy_fqdn(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The Exchange Online hosting provider points at a ProxyFqdn Microsoft does not
    document (nor the pack's config adds)."""
    if args.resource_type != HOSTING_PROVIDER:
        return
    config = args.get_config()
    identities = strings(config, "exchangeOnlineIdentities", [EXCHANGE_ONLINE_IDENTITY])
    if not is_exchange_online_provider(args, identities):
        return
    extra = strings(config, "additionalProxyFqdns", [])
    allowed = [*EXCHANGE_ONLINE_PROXY_FQDNS, *extra]
    proxy = args.props.get("proxy_fqdn")
    if fqdn(proxy) in {fqdn(a) for a in allowed}:
        return
    report(
        f"HostingProvider {_name(args)} is the Exchange Online hosting provider, but its "
        f"proxy_fqdn is {proxy!r}: Lync would send Outlook Web App IM and presence to that "
        "host. Exchange Online's is exap.um.outlook.com (worldwide) or "
        "exap.um.partner.outlook.cn (Office 365 operated by 21Vianet). Set lync:cloud to "
        "worldwide or 21vianet and remove lync:proxyFqdn; for a deliberate other endpoint, "
        "add it to additionalProxyFqdns in the pack config.",
        None,
    )


exchange_online_proxy_fqdn = ResourceValidationPolicy(
    name="lync-exchange-online-proxy-fqdn",
    description=(
        "The Exchange Online hosting provider's ProxyFqdn must be exap.um.outlook.com or "
        "exap.um.partner.outlook.cn."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_proxy_fqdn,
    config_schema=PolicyConfigSchema(
        properties={
            "exchangeOnlineIdentities": {
                "type": "array",
                "items": {"type": "string"},
                "default": [EXCHANGE_ONLINE_IDENTITY],
                "description": "Hosting provider identities that mean Exchange Online.",
            },
            "additionalProxyFqdns": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "ProxyFqdn values accepted besides the two documented ones.",
            },
        }
    ),
)


# -- enable_outside_access on the policy the component grants --------------------------------


def _granted(assignment: PolicyResource, policies: list[PolicyResource]) -> list[PolicyResource]:
    """The ExternalAccessPolicy resources an assignment grants.

    By ``policy_name`` compared with each policy's ``identity`` (``Tag:X``, ``tag:x`` and
    ``X`` are one). When ``policy_name`` is not known yet (a first preview: the component
    passes the policy's ``identity`` output), by the resource that value comes from, which
    the engine reports as the property's dependency."""
    try:
        name = assignment.props.get("policy_name")
    except UnknownValueError:
        sources = assignment.property_dependencies.get("policy_name", [])
        found = [r for r in sources if r.resource_type == EXTERNAL_ACCESS_POLICY]
        if not found:
            raise
        return found
    return [p for p in policies if same_policy_identity(p.props.get("identity"), name)]


def validate_outside_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every policy that Outlook Web App users get must have ``enable_outside_access=True``:
    each ExternalAccessPolicy an ExternalAccessPolicyAssignment grants, and the one an
    ExchangeOnlineIntegration declares (a Global or site policy applies without a grant).
    Values are the resources' outputs, so after ``up`` they are what the server holds."""
    policies = [r for r in args.resources if r.resource_type == EXTERNAL_ACCESS_POLICY]
    to_check: dict[str, tuple[PolicyResource, str]] = {}
    for assignment in args.resources:
        if assignment.resource_type != EXTERNAL_ACCESS_POLICY_ASSIGNMENT:
            continue
        granted = _granted(assignment, policies)
        if not granted:
            report(
                f"ExternalAccessPolicyAssignment {assignment.name!r} grants "
                f"{assignment.props.get('policy_name')!r}, but no ExternalAccessPolicy in this "
                "stack has that identity, so nothing shows that it allows communications with "
                "remote users. Declare the policy in the program with "
                "enable_outside_access=True (ExchangeOnlineIntegration does).",
                assignment.urn,
            )
        for policy in granted:
            to_check.setdefault(policy.urn, (policy, f"granted by {assignment.name!r}"))
    for policy in policies:
        if declared_by_integration(policy.urn):
            to_check.setdefault(policy.urn, (policy, "declared by ExchangeOnlineIntegration"))
    for policy, why in to_check.values():
        value: Any = policy.props.get("enable_outside_access")
        if as_bool(value) is True:
            continue
        report(
            f"ExternalAccessPolicy {policy.props.get('identity')!r} ({why}) has "
            f"enable_outside_access {value!r}: an Outlook Web App sign-in counts as a remote "
            "user, so its users would get no IM or presence. Set enable_outside_access=True "
            '("Enable communications with remote users").',
            policy.urn,
        )


granted_policy_allows_outside_access = StackValidationPolicy(
    name="lync-granted-policy-allows-outside-access",
    description=(
        "The external access policy that Outlook Web App users are granted must enable "
        "communications with remote users (enable_outside_access=True)."
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=validate_outside_access,
)


# -- no is_local hosting provider outside a lab stack -----------------------------------------


def is_lab_stack(stack: str | None, lab_stacks: Iterable[str]) -> bool:
    """``stack`` (``prod`` or ``org/project/prod``) is one of the lab stacks."""
    if stack is None:
        return False
    names = set(lab_stacks)
    return stack in names or stack.rsplit("/", 1)[-1] in names


def validate_is_local(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A HostingProvider with ``is_local=True`` in a stack that is not a lab."""
    if args.resource_type != HOSTING_PROVIDER:
        return
    if as_bool(args.props.get("is_local")) is not True:
        return
    labs = strings(args.get_config(), "labStacks", DEFAULT_LAB_STACKS)
    stack = current_stack()
    if is_lab_stack(stack, labs):
        return
    where = f"stack {stack!r}" if stack else "a stack the engine did not name"
    report(
        f"HostingProvider {_name(args)} sets is_local=True in {where}: Lync would treat the "
        "provider's proxy server as part of your own topology and trust its traffic as "
        "internal. Exchange Online and federation partners are not local: set "
        f"is_local=False. Only lab stacks ({', '.join(labs) or 'none'}; labStacks in the pack "
        "config) may use it.",
        None,
    )


local_hosting_provider_only_in_lab = ResourceValidationPolicy(
    name="lync-local-hosting-provider-only-in-lab",
    description="A hosting provider may be IsLocal only in a lab stack (labStacks).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_is_local,
    config_schema=PolicyConfigSchema(
        properties={
            "labStacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_LAB_STACKS),
                "description": "Stacks where is_local=True is allowed (the emulator's).",
            }
        }
    ),
)


POLICIES: list[Policy] = [
    no_always_unverifiable,
    anonymous_users_only_when_allowed,
    exchange_online_proxy_fqdn,
    granted_policy_allows_outside_access,
    local_hosting_provider_only_in_lab,
]

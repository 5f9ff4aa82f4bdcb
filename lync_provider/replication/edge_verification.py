"""EdgeVerification: prove the Edge's local store holds the configuration.

Microsoft's procedure ends on the Edge itself with ``Get-CsHostingProvider -LocalStore``.
This resource does that for every hosting provider, the access edge settings and the external
access policies it is given, over the Edge's own WinRM endpoint (``lync:edgeUrl``), retrying
within its own deadline; on failure it shows expected against found, property by property.
Place it after the ReplicationGate with ``depends_on``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, Field, field_validator

from lync_provider.remoting import SWITCH, CmdletCall, NotFoundError
from lync_provider.replication.polling import Backoff
from lync_provider.replication.status import render_table
from lync_provider.resources.access_edge import AccessEdgeConfigSpec
from lync_provider.resources.base import LyncProvider, LyncResourceError, Spec, lync_name
from lync_provider.resources.external_access_policy import ExternalAccessPolicySpec
from lync_provider.resources.hosting_provider import HostingProviderSpec
from lync_provider.resources.resource import LyncResource

MISSING = "(not on the Edge)"


@dataclass(frozen=True)
class Expectation:
    """One object the Edge must hold, with the property values it must have."""

    spec: type[Spec]
    identity: str
    values: Mapping[str, Any]

    @property
    def label(self) -> str:
        """How the object is named in the table."""
        return f"{self.spec.noun} {self.identity}"


def _only_properties(spec: type[Spec], entry: Mapping[str, Any]) -> dict[str, Any]:
    allowed = set(spec.property_fields())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not properties of {spec.cmdlet}")
    return dict(entry)


class EdgeVerificationSpec(Spec):
    """Inputs: what the Edge must hold (snake_case property names, as on the resources)."""

    cmdlet: ClassVar[str] = "Get-CsHostingProvider -LocalStore"
    control_fields: ClassVar[frozenset[str]] = frozenset()

    # Outputs of what is verified (their changed_at): a change means verifying again.
    triggers: Any = None
    hosting_providers: list[dict[str, Any]] | None = None
    access_edge: dict[str, Any] | None = None
    external_access_policies: list[dict[str, Any]] | None = None
    timeout_seconds: float = Field(default=300.0, gt=0)
    poll_min_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=15.0, gt=0)

    @field_validator("hosting_providers")
    @classmethod
    def _providers(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for entry in value or []:
            if "identity" not in entry:
                raise ValueError("each hosting provider needs its identity")
            _only_properties(HostingProviderSpec, entry)
        return value

    @field_validator("external_access_policies")
    @classmethod
    def _policies(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for entry in value or []:
            if "identity" not in entry:
                raise ValueError("each external access policy needs its identity")
            ExternalAccessPolicySpec.model_validate(entry)
        return value

    @field_validator("access_edge")
    @classmethod
    def _access_edge(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            AccessEdgeConfigSpec.model_validate(value)
        return value

    def expectations(self) -> list[Expectation]:
        """Every object to look up on the Edge."""
        items: list[Expectation] = []
        if self.access_edge:
            items.append(Expectation(AccessEdgeConfigSpec, "Global", self.access_edge))
        for entry in self.hosting_providers or []:
            values = {k: v for k, v in entry.items() if k not in ("identity", "adopt")}
            items.append(Expectation(HostingProviderSpec, str(entry["identity"]), values))
        for entry in self.external_access_policies or []:
            policy = ExternalAccessPolicySpec.model_validate(entry)
            values = policy.model_dump(exclude_none=True, exclude={"identity", "adopt"})
            items.append(Expectation(ExternalAccessPolicySpec, policy.identity, values))
        return items


class _Mismatch(BaseModel):
    object: str
    property: str
    expected: Any
    found: Any


class EdgeVerificationProvider(LyncProvider):
    """Reads the Edge's local store (-LocalStore) until it matches, or the deadline passes."""

    spec = EdgeVerificationSpec
    kind = "EdgeVerification"

    def _found(self, item: Expectation) -> Mapping[str, Any] | None:
        params: dict[str, Any] = {"Identity": item.identity, "LocalStore": SWITCH}
        try:
            records = self.edge().read(CmdletCall(f"Get-{item.spec.noun}", params))
        except NotFoundError:
            return None
        return records[0] if records else None

    def mismatches(self, settings: EdgeVerificationSpec) -> list[_Mismatch]:
        """Every expected property the Edge does not hold, once."""
        rows: list[_Mismatch] = []
        for item in settings.expectations():
            record = self._found(item)
            for name, expected in item.values.items():
                found = MISSING if record is None else record.get(lync_name(name))
                if record is None or item.spec.compare_key(name, found) != item.spec.compare_key(
                    name, expected
                ):
                    rows.append(
                        _Mismatch(object=item.label, property=name, expected=expected, found=found)
                    )
        return rows

    def verify(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Retry until the Edge matches; raise with the expected-versus-found table."""
        settings = EdgeVerificationSpec.model_validate(self.managed(props))
        backoff = Backoff(
            settings.timeout_seconds, settings.poll_min_seconds, settings.poll_max_seconds
        )
        with self.failing("verify the Edge", self._edge_name()):
            while rows := self.mismatches(settings):
                backoff.polled()
                if backoff.expired:
                    raise LyncResourceError(self._failure(settings, rows, backoff.polls))
                backoff.sleep()
            backoff.polled()
        return {
            **self.managed(props),
            "verified_objects": [item.label for item in settings.expectations()],
            "waited_seconds": round(backoff.elapsed, 3),
            "polls": backoff.polls,
        }

    def _edge_name(self) -> str:
        """The Edge's URL for messages; "the Edge" when its settings are missing or wrong,
        which the verification's own error then reports under the resource's name."""
        edge = self.connections().edge
        return edge.display_url if edge is not None else "the Edge"

    def _failure(self, settings: EdgeVerificationSpec, rows: list[_Mismatch], polls: int) -> str:
        table = render_table(
            "Edge local store (-LocalStore) differs from the configuration",
            ("object", "property", "expected", "found on the Edge"),
            [(r.object, r.property, r.expected, r.found) for r in rows],
        )
        return (
            f"{self.kind}: after {settings.timeout_seconds:g} s ({polls} checks) the Edge "
            f"{self._edge_name()} does not hold the configuration.\n"
            f"{table}\nThe change has not replicated to the Edge yet, or replication is "
            "broken: see Get-CsManagementStoreReplicationStatus on a front end server."
        )

    def create(self, props: Any) -> CreateResult:
        """Verify; the resource exists once the Edge matched."""
        return CreateResult("edge-verification", self.verify(props))

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        """New expectations or triggers mean verifying again, and so do differences a
        refresh found: the `up` that fixes the drift must confirm the Edge has the fix."""
        changed = self.changed_properties(olds, news)
        drifted = bool(olds.get("differences"))
        return DiffResult(changes=bool(changed) or drifted, replaces=[], delete_before_replace=None)

    def update(self, _id: str, _olds: Any, news: Any) -> UpdateResult:
        """Verify the new expectations."""
        return UpdateResult(self.verify(news))

    def read(self, id_: str, props: Any) -> ReadResult:
        """Check once, without failing: the outputs list what differs now."""
        settings = EdgeVerificationSpec.model_validate(self.managed(props))
        with self.failing("read the Edge", "edge"):
            rows = self.mismatches(settings)
        return ReadResult(id_, {**props, "differences": [r.model_dump() for r in rows]})

    def delete(self, _id: str, _props: Any) -> None:
        """Nothing exists on the server for a verification."""


@dataclass
class EdgeVerificationArgs:
    """Inputs of :class:`EdgeVerification`."""

    triggers: pulumi.Input[Any] | None = None
    hosting_providers: pulumi.Input[list[Any]] | None = None
    access_edge: pulumi.Input[dict[str, Any]] | None = None
    external_access_policies: pulumi.Input[list[Any]] | None = None
    timeout_seconds: pulumi.Input[float] | None = None
    poll_min_seconds: pulumi.Input[float] | None = None
    poll_max_seconds: pulumi.Input[float] | None = None


class EdgeVerification(LyncResource, module="lync", name="EdgeVerification"):
    """Checks the Edge's local store; place it after the ReplicationGate (depends_on).

    Outputs: ``verified_objects``, ``waited_seconds``, ``polls``; after a refresh,
    ``differences`` (what the Edge holds that differs from the expectations).
    """

    args_type = EdgeVerificationArgs
    provider_type = EdgeVerificationProvider
    extra_outputs = ("verified_objects", "waited_seconds", "polls", "differences")

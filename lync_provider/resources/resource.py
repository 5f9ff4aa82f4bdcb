"""The program-side resource classes, in the style of generated Pulumi SDKs.

``HostingProvider("exo", identity="Exchange Online", enabled=True, ...)`` or
``HostingProvider("exo", HostingProviderArgs(...))``: both build the same input map. Inputs
the ``...Args`` class does not know are passed on anyway, so that the provider's ``check``
reports them as CheckFailures (with the reason) instead of Python raising a TypeError far
from ``pulumi preview``'s output.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, ClassVar

import pulumi
from pulumi.dynamic import Resource

from lync_provider.lync.versions import DEFAULT_VERSION, ServerVersion
from lync_provider.resources.base import LyncProvider
from lync_provider.settings.connections import NAMESPACE


class LyncResource(Resource):
    """Base of the Lync dynamic resources.

    Each is registered with ``delete_before_replace=True`` unless the program says
    otherwise. A Lync object is keyed by its identity on the server, so two resources cannot
    hold it at once: created first, a replacement would find the old object there (refused
    as a duplicate, or adopted and then removed by the old resource's delete; a singleton or
    an assignment would take over and then be given back its prior values). The providers'
    ``diff`` can ask for delete-first itself, but the engine does not call ``diff`` for
    ``pulumi up --replace`` or ``replace_on_changes`` (pulumi/pulumi#9924): only the
    resource option is seen there.
    """

    args_type: ClassVar[type[Any]]
    provider_type: ClassVar[type[LyncProvider]]
    # Outputs that are not inputs, declared so they are readable as attributes.
    extra_outputs: ClassVar[tuple[str, ...]] = ("identity", "prior_values", "changed_at")

    def __init__(
        self,
        resource_name: str,
        args: Any | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        # Shallow on purpose: asdict() would deep-copy, and an Output cannot be copied.
        given = {f.name: getattr(args, f.name) for f in fields(args)} if args is not None else {}
        given.update(kwargs)
        props = {k: v for k, v in given.items() if v is not None}
        for name in self.extra_outputs:
            props.setdefault(name, None)
        delete_first = pulumi.ResourceOptions(delete_before_replace=True)
        opts = pulumi.ResourceOptions.merge(delete_first, opts)
        super().__init__(self.provider_type(), resource_name, props, opts)
        self._warn_about_retired(props)

    def _warn_about_retired(self, props: dict[str, Any]) -> None:
        """Warn in the program, where ``pulumi preview`` shows it: the provider process can
        only write to its stderr. An invalid lync:serverVersion is the config check's job."""
        try:
            version = ServerVersion.parse(
                pulumi.Config(NAMESPACE).get("serverVersion") or DEFAULT_VERSION
            )
        except ValueError:
            return
        for warning in self.provider_type.spec.version_warnings(props, version):
            pulumi.log.warn(warning, resource=self)

    if TYPE_CHECKING:
        # Every input and output is set as an attribute holding a pulumi.Output by the SDK;
        # the ...Args classes and specs name them, so they are not listed a third time here.
        def __getattr__(self, name: str) -> pulumi.Output[Any]: ...

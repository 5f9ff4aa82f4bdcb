"""The reference deployment: Exchange Online integration for one Lync environment per stack.

Reads the stack's `lync:` configuration (see Pulumi.yaml for every key), validates it all at
once, and declares the ExchangeOnlineIntegration component. Connection keys are read again by
the dynamic providers in their own process; nothing here passes credentials to a resource.
"""

import pulumi

from lync_provider.integration import ExchangeOnlineIntegration
from lync_provider.program.config import (
    ProgramConfigError,
    load_program_config,
    program_stack_config,
    split_config,
)
from lync_provider.settings.connections import lookup_from

integration_keys, connection_keys = split_config(program_stack_config())
try:
    settings = load_program_config(
        integration_keys, lookup_from({f"lync:{k}": v for k, v in connection_keys.items()})
    )
except ProgramConfigError as err:
    raise pulumi.RunError(str(err)) from None

integration = ExchangeOnlineIntegration("exchange-online", settings.to_args())

pulumi.export("proxyFqdn", settings.to_args().resolved_proxy_fqdn())
pulumi.export("hostingProvider", integration.hosting_provider.identity)
pulumi.export("externalAccessPolicy", integration.policy.identity)
pulumi.export("replicaStatus", integration.gate.replica_status)
pulumi.export("replicationWaitedSeconds", integration.gate.waited_seconds)

"""Scenario 11: the engine sends up to four provider calls at once.

Four independent resources created concurrently through one provider process all succeed with
correct state: no corrupted session, no interleaved pipelines. Twenty rounds in a row, each
also deleting the four concurrently.
"""

from __future__ import annotations

from lync_provider.resources import ExternalAccessPolicy, ExternalAccessPolicyProvider
from tests.reliability.conftest import Rig, deployment
from tests.resources.conftest import store_state
from tests.support.engine import declare, run_concurrently

ROUNDS = 20


def test_four_concurrent_creates_and_deletes_twenty_times(rig: Rig) -> None:
    stack = rig.stack()
    engine, provider = stack.engine, stack.process
    site = declare(
        ExternalAccessPolicy,
        "site",
        ExternalAccessPolicyProvider(),
        {"identity": "site:Redmond", "enable_federation_access": True},
    )
    declared = [*deployment()[:3], site]  # the grant depends on the tag policy
    engine.provider.configure(engine.config)
    checked = [provider.check(engine.urn(d), {}, dict(d.inputs)).inputs for d in declared]
    pristine = store_state(stack.emu)
    for _ in range(ROUNDS):
        created = run_concurrently(
            [
                (lambda d=d, inputs=inputs: provider.create(engine.urn(d), inputs))
                for d, inputs in zip(declared, checked, strict=True)
            ]
        )
        outputs = {d.name: c.outputs for d, c in zip(declared, created, strict=True)}
        assert outputs["edge"]["allow_federated_users"] is True
        assert outputs["exo"]["proxy_fqdn"] == "exap.um.outlook.com"
        assert outputs["policy"]["enable_outside_access"] is True
        assert outputs["site"]["identity"] == "Site:Redmond"
        [live] = stack.emu.run_cmdlet("Get-CsExternalAccessPolicy", "site:Redmond")
        assert live.properties["EnableFederationAccess"] is True
        run_concurrently(
            [
                (lambda d=d, c=c: provider.delete(c.id, engine.urn(d), c.outputs))
                for d, c in zip(declared, created, strict=True)
            ]
        )
        assert store_state(stack.emu) == pristine
    # The only errors are the existence checks before each New- (absent: ItemNotFound).
    unexpected = [
        e
        for e in stack.emu.audit.failures()
        if not (e.cmdlet.startswith("Get-") and str(e.error_id).startswith("ItemNotFound"))
    ]
    assert unexpected == []
    news = stack.emu.audit.entries("New-CsHostingProvider")
    assert len(news) == ROUNDS and all(e.outcome == "ok" for e in news)

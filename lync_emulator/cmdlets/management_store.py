"""Get-CsManagementStoreReplicationStatus and Invoke-CsManagementStoreReplication.

They expose the replication model (:mod:`lync_emulator.replication`): per-replica status,
the CMS-level summary, and the forced full push (lync-cmdlets.md §4).

Parameters: ODP skype/skype-ps/SkypeForBusiness/Get-CsManagementStoreReplicationStatus.md
(``[[-ReplicaFqdn]] [-CentralManagementStoreStatus]``, one set) and
Invoke-CsManagementStoreReplication.md (``[[-ReplicaFqdn]] [-Force]``: no -WhatIf/-Confirm,
so those are refused as unknown); ReplicaFqdn is Position 2 on both.
"""

from __future__ import annotations

from lync_emulator.cmdlets.base import Cmdlet, Invocation
from lync_emulator.cmdlets.binding import STRING, SWITCH, Param
from lync_emulator.cmdlets.errors import not_found
from lync_emulator.invocation import LyncObject, Role
from lync_emulator.replication import ReplicaStatus, UnknownReplicaError, utc

_XDS = "Microsoft.Rtc.Management.Xds."


def _render(status: ReplicaStatus) -> LyncObject:
    return LyncObject(
        [_XDS + "ReplicaState"],
        {
            "UpToDate": status.up_to_date,
            "ReplicaFqdn": status.fqdn,
            "LastStatusReport": status.last_status_report,
            "LastUpdateCreation": status.last_update_creation,
            "ProductVersion": status.product_version,
        },
        status.fqdn,
    )


def _cms_status(inv: Invocation) -> LyncObject:
    """The CMS summary; the master and its File Transfer Agent are the first front end."""
    master = inv.replication.fqdn_for(Role.FRONTEND)
    return LyncObject(
        [_XDS + "CentralManagementStoreStatusResult"],
        {
            "ActiveMasterFqdn": master,
            "ActiveMasterLastHeartbeat": utc(inv.now),
            "ActiveFileTransferAgents": [master],
            "ActiveReplicas": [spec.fqdn for spec in inv.replication.replicas],
            "DeletedReplicas": [],
        },
        _XDS + "CentralManagementStoreStatusResult",
    )


def _status(inv: Invocation) -> None:
    if inv.bound.has("CentralManagementStoreStatus"):
        inv.emit(_cms_status(inv))
        return
    fqdn = inv.bound.get("ReplicaFqdn")
    try:
        statuses = inv.replication.status(inv.now, fqdn)
    except UnknownReplicaError:
        inv.error(not_found("ReplicaState", fqdn, terminating=False))
        return
    for status in statuses:
        inv.emit(_render(status))


def _invoke(inv: Invocation) -> None:
    fqdn = inv.bound.get("ReplicaFqdn")
    try:
        inv.force_push(fqdn)
    except UnknownReplicaError:
        raise not_found("ReplicaState", fqdn) from None


CMDLETS: tuple[Cmdlet, ...] = (
    Cmdlet(
        "Get-CsManagementStoreReplicationStatus",
        _XDS + "GetManagementStoreReplicationStatusCmdlet",
        (
            Param("ReplicaFqdn", STRING, position=2),
            Param("CentralManagementStoreStatus", SWITCH),
        ),
        _status,
    ),
    Cmdlet(
        "Invoke-CsManagementStoreReplication",
        _XDS + "InvokeManagementStoreReplicationCmdlet",
        (Param("ReplicaFqdn", STRING, position=2), Param("Force", SWITCH)),
        _invoke,
    ),
)

"""Replication readiness: the gate that waits for the replicas, and the Edge's own check."""

from lync_provider.replication.edge_verification import (
    EdgeVerification,
    EdgeVerificationArgs,
    EdgeVerificationProvider,
)
from lync_provider.replication.gate import (
    ReplicationGate,
    ReplicationGateArgs,
    ReplicationGateProvider,
)

__all__ = [
    "EdgeVerification",
    "EdgeVerificationArgs",
    "EdgeVerificationProvider",
    "ReplicationGate",
    "ReplicationGateArgs",
    "ReplicationGateProvider",
]

"""Remote PowerShell to Lync: pooled sessions, structured cmdlet calls, typed errors.

The only layer that talks to pypsrp. Everything above it builds :class:`CmdletCall` values
and gets plain dicts back, or one of the typed errors.
"""

from lync_provider.remoting.commands import (
    SWITCH,
    CmdletCall,
    ParameterValue,
    Secret,
    Switch,
    quoted,
)
from lync_provider.remoting.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    AuthenticationFailedError,
    CertificateValidationError,
    CommandNotFoundError,
    ConnectionFailedError,
    InvalidArgumentError,
    LyncRemotingError,
    NotFoundError,
    OperationTimeoutError,
    ReadOnlyStoreError,
    RemoteCommandError,
    ServerError,
    TransportError,
    UnreadableReplyError,
    WriteOutcomeUnknownError,
)
from lync_provider.remoting.results import to_datetime
from lync_provider.remoting.session import (
    LyncSession,
    Records,
    Reply,
    SessionStats,
    close_all_sessions,
    session_for,
)

__all__ = [
    "SWITCH",
    "AccessDeniedError",
    "AlreadyExistsError",
    "AuthenticationFailedError",
    "CertificateValidationError",
    "CmdletCall",
    "CommandNotFoundError",
    "ConnectionFailedError",
    "InvalidArgumentError",
    "LyncRemotingError",
    "LyncSession",
    "NotFoundError",
    "OperationTimeoutError",
    "ParameterValue",
    "ReadOnlyStoreError",
    "Records",
    "RemoteCommandError",
    "Reply",
    "Secret",
    "ServerError",
    "SessionStats",
    "Switch",
    "TransportError",
    "UnreadableReplyError",
    "WriteOutcomeUnknownError",
    "close_all_sessions",
    "quoted",
    "session_for",
    "to_datetime",
]

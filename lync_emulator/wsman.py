"""WS-Management over SOAP 1.2: envelopes, the action table and faults, with no I/O.

:class:`WSManEndpoint` turns one request envelope (bytes) into one response envelope
(bytes). What a shell *does* lives behind the :class:`ShellBackend` protocol (the PSRP layer
in :mod:`lync_emulator.psrp`), so this module knows XML and WSMan semantics only and can be
tested with a fake backend. Every failure leaves as a WSMan fault that pypsrp can parse into
``WSManFaultError(code=...)``; nothing here raises past :meth:`WSManEndpoint.handle`.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmv": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    if _prefix != "pwsh":
        ET.register_namespace(_prefix, _uri)

_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTION_CREATE = _TRANSFER + "Create"
ACTION_DELETE = _TRANSFER + "Delete"
ACTION_GET = _TRANSFER + "Get"
ACTION_COMMAND = _SHELL + "Command"
ACTION_SEND = _SHELL + "Send"
ACTION_RECEIVE = _SHELL + "Receive"
ACTION_SIGNAL = _SHELL + "Signal"

SIGNAL_TERMINATE = _SHELL + "signal/Terminate"
SIGNAL_CTRL_C = "powershell/signal/ctrl_c"
COMMAND_STATE_DONE = _SHELL + "CommandState/Done"
COMMAND_STATE_RUNNING = _SHELL + "CommandState/Running"

# WinRM's MaxEnvelopeSizekb (MS-WSMV 2.2.4.10: "The default value SHOULD be 500") times
# 1,024: the largest envelope the service answers, the size it assumes when a request states
# none or more (MS-WSMV 3.1.4.1.7), and the limit on the requests it processes (ibid.).
MAX_ENVELOPE_SIZE = 500 * 1024
DEFAULT_OPERATION_TIMEOUT_S = 60.0
# Room for the response envelope around the base64 streams in a ReceiveResponse.
_ENVELOPE_OVERHEAD = 2048
_STREAM_OVERHEAD = 160


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


# Characters XML 1.0 cannot carry at all (section 2.2, Char): C0 controls other than tab,
# newline and carriage return, surrogates, U+FFFE and U+FFFF.
_NOT_XML_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text safe inside an XML element or attribute of an envelope built as text.

    Fault reasons can quote what a client sent; a control character there would make the
    whole fault unparseable, so it becomes U+FFFD (our choice: WSMan has no escape for it).
    """
    return escape(_NOT_XML_CHAR.sub("\ufffd", text), {'"': "&quot;"})


class WSManFaultError(Exception):
    """A fault to send back instead of a response (HTTP 500, as WinRM does for every fault).

    ``code`` is the ``WSManFaultError/@Code`` that pypsrp turns into ``WSManFaultError.code``
    (None: no WSManFault detail at all, as some faults come); ``subcode`` is the SOAP
    subcode such as ``w:TimedOut``.
    """

    def __init__(
        self, code: int | None, subcode: str, reason: str, *, sender: bool = False
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.sender = sender


class ReplyLost(Exception):  # noqa: N818 - an event, not an error of the request
    """The backend decided this request's answer is lost in transit (a fault switch).

    :meth:`WSManEndpoint.handle` lets it through so the HTTP layer can close the connection
    without answering: whatever the request did on the server stays done. ``outage_s`` is
    how long the server is then down.
    """

    def __init__(self, outage_s: float = 0.0) -> None:
        super().__init__("the answer is lost in transit")
        self.outage_s = outage_s


def timed_out() -> WSManFaultError:
    """The fault pypsrp swallows before retrying Receive (code from real WinRM captures)."""
    return WSManFaultError(
        2150858793,
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified "
        "in OperationTimeout.",
    )


def shell_not_found(shell_id: str | None) -> WSManFaultError:
    """What WinRM answers for an unknown or forgotten ShellId (code 0x8033805B)."""
    return WSManFaultError(
        2150858843,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id or '(none)'} failed "
        "because the shell was not found on the server. Possible causes are: the specified "
        "ShellId is incorrect or the shell no longer exists on the server.",
        sender=True,
    )


# The PowerShell plugin's MaxConcurrentCommandsPerShell quota (default 1000): Windows keeps
# each command of a shell until the client sends the Terminate signal, "to acknowledge
# receipt of the end of the command output ... and to clean up any resources" (MS-WSMV
# 3.1.4.12, Signal, and its product behavior note 118). The fault is as Windows Server 2012 R2
# sent it (quoted in jborean93/pypsrp#148): subcode w:InternalError, that message, and no
# WSManFault detail, so no numeric code (ERROR_WSMAN_QUOTA_MAX_COMMANDS_PER_SHELL_PPQ,
# 0x803381E9, would be the per-plugin quota's; no capture shows it).


def commands_per_shell_exceeded() -> WSManFaultError:
    """A Command refused because the shell holds as many unterminated commands as allowed."""
    return WSManFaultError(
        None,
        "w:InternalError",
        "The WS-Management service cannot process the request. The maximum number of "
        "concurrent commands per shell has been exceeded. Retry the request later or raise "
        "the Maximum Commands per Shell quota.",
    )


# MaxShellsPerUser: a Create beyond the shells one user may hold open is refused with a
# wsman:QuotaLimit fault (MS-WSMV 3.1.4.5.2.1). The microsoft.powershell plugin allows 25 by
# default (the PowerShell team's "Configuring WSMAN Limits"); its refusal is
# ERROR_WSMAN_QUOTA_MAX_SHELLS_PPQ (0x803381E4; wsmerror.h), where WinRS's own quota (30)
# answers ERROR_WSMAN_QUOTA_MAX_SHELLS (0x803381A5, "This user is allowed a maximum number of
# N concurrent shells", test-kitchen/test-kitchen#656). The wording is that of an IIS-hosted
# Skype for Business PowerShell endpoint (Microsoft365DSC/Microsoft365DSC#966), the nearest
# capture to OcsPowershell; which quota and code an on-premises OcsPowershell applies is
# UNCERTAIN. A shell holds its place until Delete (or the idle timeout).
SHELLS_PER_USER_DEFAULT = 25


def shells_per_user_exceeded() -> WSManFaultError:
    """A Create refused because the user already holds as many shells as allowed."""
    return WSManFaultError(
        2150859236,
        "w:QuotaLimit",
        "The WS-Management service cannot process the request. The maximum number of "
        "concurrent shells for this user has been exceeded. Close existing shells or raise "
        "the quota for this user.",
    )


def action_not_supported(action: str) -> WSManFaultError:
    """An action outside the table. The numeric code is ERROR_WSMAN_ACTION_NOT_SUPPORTED as
    best recalled (0x80338005); no capture confirms it."""
    return WSManFaultError(
        2150858757,
        "a:ActionNotSupported",
        f"The action is not supported by the service: {action or '(none)'}",
        sender=True,
    )


def invalid_request(detail: str) -> WSManFaultError:
    """A request that is not well-formed XML or lacks what its action needs."""
    return WSManFaultError(
        2150858817,
        "w:SchemaValidationError",
        f"The WS-Management service cannot process the request because the XML is invalid: "
        f"{detail}",
        sender=True,
    )


def internal_error(detail: str) -> WSManFaultError:
    """A bug in the emulator, reported to the client rather than killing the connection."""
    return WSManFaultError(2147500037, "w:InternalError", f"Internal error: {detail}")


def access_denied(detail: str) -> WSManFaultError:
    """Used when the caller may not touch a shell (another user's ShellId)."""
    return WSManFaultError(5, "w:AccessDenied", f"Access is denied. {detail}", sender=True)


@dataclass
class Request:
    """The parts of a WSMan request the handlers need."""

    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    max_envelope_size: int
    operation_timeout_s: float
    body: ET.Element | None
    user: str = ""


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str | None) -> float:
    """Parse an xs:duration like ``PT20S`` or ``PT1M0.500S``; fall back to WinRM's default."""
    match = _DURATION.match((text or "").strip())
    if not text or not match:
        return DEFAULT_OPERATION_TIMEOUT_S
    days, hours, minutes, seconds = match.groups()
    return (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60) + float(
        seconds or 0
    )


class _NoDoctype(ET.TreeBuilder):
    """ElementTree's builder, refusing a document type declaration.

    SOAP 1.2 Part 1 section 5: "A SOAP message MUST NOT contain a Document Type
    Declaration." Refusing it before its entities expand also keeps an entity bomb from
    costing the server anything.
    """

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise invalid_request("a SOAP message must not contain a document type declaration")


def _parse_xml(data: bytes) -> ET.Element:
    # Expat fetches no external entities, and _NoDoctype refuses internal ones.
    parser = ET.XMLParser(target=_NoDoctype())  # noqa: S314
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except ET.ParseError as exc:
        raise invalid_request(str(exc)) from None
    return root


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope; anything malformed becomes a fault, never an exception.

    A MaxEnvelopeSize the client omits, or states above the service's, is the service's
    (MS-WSMV 3.1.4.1.7).
    """
    root = _parse_xml(data)
    if root.tag != _q("s", "Envelope"):
        raise invalid_request("the root element is not a SOAP 1.2 Envelope")
    header = root.find("s:Header", NS)
    if header is None:
        raise invalid_request("the envelope has no Header")
    message_id = header.findtext("wsa:MessageID", "", NS).strip()
    if not message_id:
        raise invalid_request("the header has no wsa:MessageID")
    shell_id = None
    for selector in header.iterfind("wsman:SelectorSet/wsman:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip().upper() or None
    try:
        max_envelope = int(header.findtext("wsman:MaxEnvelopeSize", "", NS) or 0)
    except ValueError:
        raise invalid_request("MaxEnvelopeSize is not an integer") from None
    body = root.find("s:Body", NS)
    envelope = min(max_envelope, MAX_ENVELOPE_SIZE) if max_envelope > 0 else MAX_ENVELOPE_SIZE
    return Request(
        action=header.findtext("wsa:Action", "", NS).strip(),
        message_id=message_id,
        resource_uri=header.findtext("wsman:ResourceURI", "", NS).strip(),
        shell_id=shell_id,
        max_envelope_size=envelope,
        operation_timeout_s=parse_duration(header.findtext("wsman:OperationTimeout", None, NS)),
        body=body[0] if body is not None and len(body) else None,
    )


def relates_to_of(data: bytes) -> str | None:
    """Best-effort MessageID of a request that failed to parse, so its fault can relate to it.

    Only printable ASCII is taken: the bytes are the client's and unchecked.
    """
    match = re.search(rb"MessageID[^>]*>\s*([!-;=-~]+)\s*<", data[:8192])
    return match.group(1).decode("ascii") if match else None


_ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"


def _envelope(action: str, relates_to: str | None, body: ET.Element | None) -> bytes:
    """The response envelope: the fixed header as text, only the body through ElementTree.

    Every request answers with one of these, and building the header as elements cost
    more than serializing a typical body.
    """
    relates = f"<wsa:RelatesTo>{xml_text(relates_to)}</wsa:RelatesTo>" if relates_to else ""
    content = ET.tostring(body, encoding="unicode") if body is not None else ""
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:wsa="{NS["wsa"]}"><s:Header>'
        f"<wsa:Action>{xml_text(action)}</wsa:Action>"
        f"<wsa:MessageID>uuid:{str(uuid.uuid4()).upper()}</wsa:MessageID>"
        f"<wsa:To>{_ANONYMOUS}</wsa:To>{relates}</s:Header>"
        f"<s:Body>{content}</s:Body></s:Envelope>"
    ).encode()


def build_fault(
    fault: WSManFaultError, relates_to: str | None, machine: str = "localhost"
) -> bytes:
    """The SOAP fault envelope, with the WSManFaultError detail pypsrp reads the code from."""
    # Built as text: the subcode's ``w:`` prefix must be declared, which ElementTree
    # would not do for a prefix that only appears inside element text.
    relates = f"<a:RelatesTo>{xml_text(relates_to)}</a:RelatesTo>" if relates_to else ""
    side = "s:Sender" if fault.sender else "s:Receiver"
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["wsa"]}" xmlns:w="{NS["wsman"]}" '
        f'xmlns:f="{NS["wsmanfault"]}"><s:Header>'
        f"<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>{relates}</s:Header>"
        f"<s:Body><s:Fault><s:Code><s:Value>{side}</s:Value>"
        f"<s:Subcode><s:Value>{xml_text(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{xml_text(fault.reason)}</s:Text></s:Reason>'
        f"{_detail(fault, machine)}</s:Fault></s:Body></s:Envelope>"
    ).encode()


def _detail(fault: WSManFaultError, machine: str) -> str:
    if fault.code is None:
        return ""
    return (
        f'<s:Detail><f:WSManFault Code="{fault.code}" Machine="{xml_text(machine)}">'
        f"<f:Message>{xml_text(fault.reason)}</f:Message></f:WSManFault></s:Detail>"
    )


@dataclass
class StreamChunk:
    """One ``rsp:Stream`` of a ReceiveResponse: raw PSRP fragments for one target."""

    data: bytes
    command_id: str | None = None
    name: str = "stdout"


@dataclass
class ReceiveResult:
    """What a Receive returns: chunks, and whether the command has nothing more to say."""

    chunks: list[StreamChunk] = field(default_factory=list)
    command_id: str | None = None
    done: bool = False


def receive_budget(max_envelope_size: int) -> int:
    """How many raw PSRP bytes fit in one ReceiveResponse.

    Base64 grows data by 4/3, and each envelope carries about 2 KiB of headers; the client
    states its limit per request (153600 before PSRP 2.2 is negotiated, 512000 after).
    """
    return max(1024, (max_envelope_size - _ENVELOPE_OVERHEAD) * 3 // 4)


def stream_cost(chunk: StreamChunk) -> int:
    """The envelope bytes a chunk uses, in the raw-byte units of :func:`receive_budget`."""
    return len(chunk.data) + _STREAM_OVERHEAD


class ShellBackend(Protocol):
    """What a shell does; WSMan only carries it. Raises :class:`WSManFaultError` for bad ids."""

    def create(self, shell_id: str, creation_data: bytes, owner: str) -> None:
        """Open a runspace pool from the client's SESSION_CAPABILITY + INIT_RUNSPACEPOOL.

        ``owner`` is the authenticated account; its pipelines run as that caller.
        """
        ...

    def command(self, shell_id: str, command_id: str, arguments: bytes) -> None:
        """Start a pipeline from the first CREATE_PIPELINE fragment."""
        ...

    def send(self, shell_id: str, command_id: str | None, data: bytes) -> None:
        """Feed further fragments to the pool (no command id) or to a pipeline."""
        ...

    def receive(
        self, shell_id: str, command_id: str | None, budget: int, timeout_s: float
    ) -> ReceiveResult:
        """Wait up to ``timeout_s`` for output; raise ``timed_out()`` if none came, or
        :class:`ReplyLost` when the answer is to be lost in transit."""
        ...

    def signal(self, shell_id: str, command_id: str, code: str) -> None:
        """Terminate or stop (ctrl_c) a pipeline."""
        ...

    def delete(self, shell_id: str) -> None:
        """Close the pool and forget the shell."""
        ...

    def owner(self, shell_id: str) -> str | None:
        """Who opened the shell, or None if it is unknown (deleted, forgotten, never made)."""
        ...


Handler = Callable[[Request], ET.Element | None]


class WSManEndpoint:
    """Dispatches WSMan actions to a :class:`ShellBackend` and builds the envelopes.

    ``max_receive_wait_s`` caps how long a Receive blocks before answering TimedOut, below
    the client's OperationTimeout, so a slow cmdlet shows the real retry dance quickly.
    """

    def __init__(
        self, backend: ShellBackend, *, machine: str = "localhost", max_receive_wait_s: float = 20.0
    ) -> None:
        self.backend = backend
        self.machine = machine
        self.max_receive_wait_s = max_receive_wait_s
        self.actions: dict[str, Handler] = {
            ACTION_CREATE: self._create,
            ACTION_COMMAND: self._command,
            ACTION_SEND: self._send,
            ACTION_RECEIVE: self._receive,
            ACTION_SIGNAL: self._signal,
            ACTION_DELETE: self._delete,
            ACTION_GET: self._get,
        }

    def handle(self, data: bytes, user: str) -> tuple[int, bytes]:
        """Answer one envelope from an authenticated ``user``: ``(200, response)`` or
        ``(500, fault)``; :class:`ReplyLost` passes through (no answer at all)."""
        relates_to: str | None = None
        try:
            request = parse_request(data)
            request.user = user
            relates_to = request.message_id
            handler = self.actions.get(request.action)
            if handler is None:
                raise action_not_supported(request.action)
            body = handler(request)
            return 200, _envelope(request.action + "Response", relates_to, body)
        except WSManFaultError as fault:
            return 500, build_fault(fault, relates_to or relates_to_of(data), self.machine)
        except ReplyLost:
            raise
        except Exception as exc:  # a bug must reach the client as a fault, not a dead socket
            bug = internal_error(f"{type(exc).__name__}: {exc}")
            return 500, build_fault(bug, relates_to or relates_to_of(data), self.machine)

    def _require_shell(self, request: Request) -> str:
        """The request's ShellId, if it names a live shell the caller owns.

        WinRM refuses one user's shell to another; checking here keeps that out of every
        handler.
        """
        owner = self.backend.owner(request.shell_id) if request.shell_id else None
        if request.shell_id is None or owner is None:
            raise shell_not_found(request.shell_id)
        if owner.casefold() != request.user.casefold():
            raise access_denied(f"The shell {request.shell_id} belongs to another user.")
        return request.shell_id

    @staticmethod
    def _b64(text: str | None, what: str) -> bytes:
        try:
            return base64.b64decode((text or "").strip(), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_request(f"{what} is not base64") from None

    def _create(self, request: Request) -> ET.Element:
        shell = request.body
        if shell is None or shell.tag != _q("rsp", "Shell"):
            raise invalid_request("Create needs an rsp:Shell body")
        shell_id = (shell.get("ShellId") or str(uuid.uuid4())).upper()
        creation = shell.find("pwsh:creationXml", NS)
        if creation is None:
            raise invalid_request("Create needs creationXml")
        self.backend.create(shell_id, self._b64(creation.text, "creationXml"), request.user)
        created = ET.Element(_q("wst", "ResourceCreated"))
        ET.SubElement(created, _q("wsa", "Address")).text = "http://localhost/wsman"
        params = ET.SubElement(created, _q("wsa", "ReferenceParameters"))
        ET.SubElement(params, _q("wsman", "ResourceURI")).text = request.resource_uri
        selectors = ET.SubElement(params, _q("wsman", "SelectorSet"))
        ET.SubElement(selectors, _q("wsman", "Selector"), Name="ShellId").text = shell_id
        return created

    def _command(self, request: Request) -> ET.Element:
        shell_id = self._require_shell(request)
        line = request.body
        if line is None or line.tag != _q("rsp", "CommandLine"):
            raise invalid_request("Command needs an rsp:CommandLine body")
        command_id = (line.get("CommandId") or "").upper()
        if not command_id:
            raise invalid_request("CommandLine has no CommandId")
        arguments = self._b64(line.findtext("rsp:Arguments", "", NS), "Arguments")
        self.backend.command(shell_id, command_id, arguments)
        response = ET.Element(_q("rsp", "CommandResponse"))
        ET.SubElement(response, _q("rsp", "CommandId")).text = command_id
        return response

    def _send(self, request: Request) -> ET.Element:
        shell_id = self._require_shell(request)
        if request.body is None or request.body.tag != _q("rsp", "Send"):
            raise invalid_request("Send needs an rsp:Send body")
        for stream in request.body.iterfind("rsp:Stream", NS):
            command_id = stream.get("CommandId")
            data = self._b64(stream.text, "Stream")
            self.backend.send(shell_id, command_id.upper() if command_id else None, data)
        return ET.Element(_q("rsp", "SendResponse"))

    def _receive(self, request: Request) -> ET.Element:
        shell_id = self._require_shell(request)
        desired = request.body.find("rsp:DesiredStream", NS) if request.body is not None else None
        command_id = desired.get("CommandId") if desired is not None else None
        result = self.backend.receive(
            shell_id,
            command_id.upper() if command_id else None,
            receive_budget(request.max_envelope_size),
            min(request.operation_timeout_s, self.max_receive_wait_s),
        )
        response = ET.Element(_q("rsp", "ReceiveResponse"))
        for chunk in result.chunks:
            attrs = {"Name": chunk.name}
            if chunk.command_id:
                attrs["CommandId"] = chunk.command_id
            stream = ET.SubElement(response, _q("rsp", "Stream"), attrs)
            stream.text = base64.b64encode(chunk.data).decode()
        if result.command_id:
            state = COMMAND_STATE_DONE if result.done else COMMAND_STATE_RUNNING
            ET.SubElement(
                response, _q("rsp", "CommandState"), CommandId=result.command_id, State=state
            )
        return response

    def _signal(self, request: Request) -> ET.Element:
        shell_id = self._require_shell(request)
        signal = request.body
        if signal is None or signal.tag != _q("rsp", "Signal") or not signal.get("CommandId"):
            raise invalid_request("Signal needs an rsp:Signal body with a CommandId")
        self.backend.signal(
            shell_id, signal.get("CommandId", "").upper(), signal.findtext("rsp:Code", "", NS)
        )
        return ET.Element(_q("rsp", "SignalResponse"))

    def _delete(self, request: Request) -> None:
        self.backend.delete(self._require_shell(request))

    def _get(self, request: Request) -> ET.Element:
        shell_id = self._require_shell(request)
        shell = ET.Element(_q("rsp", "Shell"))
        ET.SubElement(shell, _q("rsp", "ShellId")).text = shell_id
        ET.SubElement(shell, _q("rsp", "ResourceUri")).text = request.resource_uri
        ET.SubElement(shell, _q("rsp", "State")).text = "Connected"
        return shell

"""Keep secret parameter values out of pypsrp's own debug logging.

pypsrp logs every PSRP message it packs, and every SOAP body it sends, at DEBUG level: a
parameter's value would appear there in clear text. Our own log lines render calls with
:class:`~lync_provider.remoting.commands.Secret` values redacted; this filter makes pypsrp's
lines keep the same promise by dropping its DEBUG records while a call that carries a secret
is on the wire.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The pypsrp modules whose DEBUG records carry message contents.
_PYPSRP_LOGGERS = ("pypsrp.wsman", "pypsrp.messages", "pypsrp.powershell", "pypsrp.serializer")


class SecretWindow(logging.Filter):
    """Drops pypsrp DEBUG records while any call with a secret value is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._open = 0

    @contextmanager
    def guarding(self, secret: bool) -> Iterator[None]:
        """Open the window around a call when it carries a secret."""
        if not secret:
            yield
            return
        with self._lock:
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless it is DEBUG and a secret is on the wire."""
        return record.levelno > logging.DEBUG or self._open == 0


SECRET_WINDOW = SecretWindow()
for _name in _PYPSRP_LOGGERS:
    logging.getLogger(_name).addFilter(SECRET_WINDOW)

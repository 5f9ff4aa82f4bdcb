"""Logging of the provider process, switched on with ``LYNC_LOG_LEVEL``.

The engine starts the provider process and shows only what reaches its stderr (as debug
output of the plugin), so there is no other way to ask the providers for detail than the
environment: ``LYNC_LOG_LEVEL=DEBUG pulumi up --logtostderr -v=9`` shows every cmdlet call,
its timing and, for a failure, the traceback. Secret parameter values stay out of every line
(``remoting.redaction``).
"""

from __future__ import annotations

import logging
import os

LOG_LEVEL_ENV = "LYNC_LOG_LEVEL"
_configured = False


def configure_from_environment() -> None:
    """Send ``lync_provider`` (and pypsrp) records at that level to stderr, once."""
    global _configured  # noqa: PLW0603 - one process-wide switch
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().upper()
    if _configured or not level:
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("lync_provider", "pypsrp"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)

"""``python -m lync_provider <command>``: the project's commands for administrators.

``check`` reports whether the Exchange Online integration is in place (read-only); see
:mod:`lync_provider.cli.check`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lync_provider.cli import check


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m lync_provider",
        description="Lync Server 2013 and Exchange Online integration: project commands.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check.add_arguments(
        commands.add_parser(
            "check",
            help="report whether the integration is in place (read-only)",
            description=check.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    args = parser.parse_args(argv)
    # The remoting layer logs each retry as a warning; a command reports failures itself.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    return check.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m lync_provider <command>``: the project's commands for administrators.

``check`` reports whether the Exchange Online integration is in place (read-only); see
:mod:`lync_provider.cli.check`. ``export`` writes a Pulumi program that declares the
configuration a server holds, to bring it under code (read-only); see
:mod:`lync_provider.cli.export`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lync_provider.cli import check, export


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
    export.add_arguments(
        commands.add_parser(
            "export",
            help="write a Pulumi program declaring the live configuration (read-only)",
            description=export.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    args = parser.parse_args(argv)
    # The remoting layer logs each retry as a warning; a command reports failures itself.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    return export.run(args) if args.command == "export" else check.run(args)


if __name__ == "__main__":
    sys.exit(main())

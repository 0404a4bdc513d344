"""What every service's command group of the `ledger` command line shares: the
connection options, the client they open, and how failures are reported.

Connection options may be given before or after the group's name; values given
after it win, and absent ones fall back to the top level, then to LEDGER_API_KEY and
the SDK defaults.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable

from ledger_client.client import Client
from ledger_client.connection import DEFAULT_TARGET, DEFAULT_TIMEOUT
from ledger_client.errors import LedgerError

Handler = Callable[[argparse.Namespace], int]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def connection_options() -> argparse.ArgumentParser:
    """A parent parser with --target, --api-key and --timeout for a group and its commands."""
    # SUPPRESS: an option not given here must not hide the top-level parser's value.
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument("--target", default=argparse.SUPPRESS, help=f"default {DEFAULT_TARGET}")
    group.add_argument(
        "--api-key", default=argparse.SUPPRESS, help="default: $LEDGER_API_KEY, else none"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        help=f"seconds per call, default {DEFAULT_TIMEOUT:g}",
    )
    return options


def open_client(args: argparse.Namespace) -> Client:
    return Client(
        target=getattr(args, "target", None) or DEFAULT_TARGET,
        api_key=getattr(args, "api_key", None) or os.environ.get("LEDGER_API_KEY") or None,
        timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT,
    )


def reporting_errors(handler: Handler) -> Handler:
    """Turns expected failures into `error: ...` on stderr and exit code 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LedgerError as err:
            print(f"error: {err.message} ({err.reason})", file=sys.stderr)
            for violation in err.field_violations:
                print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
        return 1

    return run

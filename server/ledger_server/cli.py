"""The `ledger` command: serve, migrate, and the `results` and `eval` commands of the SDK."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from ledger_server import logs
from ledger_server.config import Settings, normalize_database_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="Ledger: INSERT-only cost records")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the gRPC API")
    serve.add_argument("--listen", help="host:port (env LEDGER_LISTEN, default 127.0.0.1:50051)")
    serve.add_argument("--database-url", help="PostgreSQL URL (env DATABASE_URL; default embedded)")
    serve.add_argument(
        "--data-dir", type=Path, help="embedded PostgreSQL data (env LEDGER_DATA_DIR)"
    )
    serve.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    serve.add_argument("--api-keys", help="name:role:key,... (env LEDGER_API_KEYS)")
    serve.add_argument(
        "--api-keys-file",
        type=Path,
        help="a file of name:role:key entries, kept out of ps (env LEDGER_API_KEYS_FILE)",
    )
    serve.add_argument("--tls-cert", type=Path, help="server certificate (env LEDGER_TLS_CERT)")
    serve.add_argument("--tls-key", type=Path, help="server private key (env LEDGER_TLS_KEY)")
    serve.add_argument("--tls-client-ca", type=Path, help="CA for client certs, enables mTLS")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING (env LEDGER_LOG_LEVEL)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the address, e.g. one per core (env LEDGER_WORKERS, "
        "default 1)",
    )
    serve.add_argument(
        "--metrics-listen",
        help="host:port to serve Prometheus metrics on, GET /metrics (env LEDGER_METRICS_LISTEN, "
        "default off)",
    )
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate.add_argument(
        "--database-url",
        help="PostgreSQL URL of the owner (env LEDGER_MIGRATE_DATABASE_URL, else DATABASE_URL; "
        "default embedded)",
    )
    migrate.add_argument(
        "--data-dir", type=Path, help="embedded PostgreSQL data (env LEDGER_DATA_DIR)"
    )
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(func=_migrate)

    try:
        from ledger_client.cli import register_results_commands
        from ledger_client.cli_common import connection_options
        from ledger_client.cli_costs import register_costs_commands
        from ledger_client.cli_evaluation_logs import add_logs_command
        from ledger_client.evaluation_cli import register_evaluation_commands
        from ledger_client.savings_cli import register_savings_commands
    except ImportError:  # the SDK is optional for a server-only install
        pass
    else:
        register_results_commands(commands)
        add_logs_command(register_evaluation_commands(commands), connection_options())
        register_costs_commands(commands)
        register_savings_commands(commands)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings for a command: its flags win over the environment, which wins over defaults."""
    settings = Settings.from_env()
    from ledger_server.api_keys import parse_keys, read_keys_file

    for attribute in (
        "listen",
        "database_url",
        "data_dir",
        "tls_cert",
        "tls_key",
        "tls_client_ca",
        "metrics_listen",
    ):
        value = getattr(args, attribute, None)
        if value:
            setattr(settings, attribute, value)
    if getattr(args, "api_keys", None) and getattr(args, "api_keys_file", None):
        raise ValueError("give --api-keys or --api-keys-file, not both")
    if getattr(args, "api_keys", None):
        settings.api_keys = parse_keys(args.api_keys, source="--api-keys")
    if getattr(args, "api_keys_file", None):
        settings.api_keys = read_keys_file(args.api_keys_file)
    if getattr(args, "log_level", None):
        settings.log_level = args.log_level.upper()
    if getattr(args, "workers", None) is not None:
        settings.workers = args.workers
    settings.migrate = bool(getattr(args, "migrate", False))
    settings.database_url = normalize_database_url(settings.database_url)
    return settings


def _serve(args: argparse.Namespace) -> int:
    from ledger_server.app import serve

    settings = settings_from_args(args)
    logs.configure(settings.log_level)
    if not settings.database_url:
        settings.migrate = True  # the embedded database is ours: keep it current
    if settings.workers > 1:
        from ledger_server.workers import run_workers

        return run_workers(settings)
    asyncio.run(serve(settings))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from ledger_server.app import resolve_database_url
    from ledger_server.storage import migrate

    settings = settings_from_args(args)
    logs.configure(settings.log_level)
    # --database-url names the database to migrate; otherwise the owner's URL if set.
    url = args.database_url or settings.migrate_database_url or resolve_database_url(settings)
    migrate.upgrade(url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ValueError as error:  # bad settings: say what, not a traceback
        print(f"ledger: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # an address in use, a certificate file missing: say which
        print(f"ledger: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

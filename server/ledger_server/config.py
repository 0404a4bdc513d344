"""Settings from flags and the environment (flags win). One place lists every knob."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from ledger_server.api_keys import ApiKey, parse_keys, read_keys_file
from ledger_server.domain.savings.policy import policy_from
from ledger_wire.limits import MAX_MESSAGE_BYTES

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_ROLE = "none"  # LEDGER_DB_ROLE=none: serve as the login role, without SET ROLE


@dataclass
class Settings:
    listen: str = "127.0.0.1:50051"
    database_url: str = ""  # empty: embedded PostgreSQL under data_dir
    # The owner's URL, for migrations only, when the server logs in as a restricted role.
    migrate_database_url: str = ""
    data_dir: Path = REPO_ROOT / ".ledger"
    # The role each connection does SET ROLE to; NO_ROLE when the login role itself holds
    # only SELECT and INSERT. Either way the server checks the role it serves as.
    db_role: str = "ledger_app"
    api_keys: list[ApiKey] = field(default_factory=list)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    log_level: str = "INFO"
    pool_size: int = 16
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # Calls and streams one connection may have open at once (HTTP/2
    # MAX_CONCURRENT_STREAMS): a client past it waits for a slot. With the message limit,
    # this bounds what one connection can make the server hold, unread replies included.
    max_concurrent_streams: int = 100
    health_interval: float = 2.0
    shutdown_grace: float = 10.0
    migrate: bool = False
    job_cache_size: int = 10_000
    # Server processes sharing the listen address (SO_REUSEPORT). One process runs its
    # Python on one core; a host with more cores serves more with more workers.
    workers: int = 1
    # host:port for Prometheus to scrape GET /metrics; empty: no metrics at all. With
    # several workers the supervisor serves every worker's figures there.
    metrics_listen: str = ""
    # The evaluation outputs' blob store (content-addressed files); empty: <data_dir>/blobs.
    blob_dir: Path | None = None
    # Evaluation outputs up to this many bytes stay in the database as written, up to
    # the second compressed there; larger ones go to the blob store.
    output_inline_max_bytes: int = 10 * 1024
    output_database_max_bytes: int = 100 * 1024
    # redis://host:port/db of an optional read-through cache of evaluation versions.
    redis_url: str = ""
    # Log followers read again after this many seconds without a wake-up (LISTEN/NOTIFY
    # wakes them at once; this only bounds the delay when a wake-up was lost).
    log_poll_seconds: float = 2.0
    # Savings: where providers restart stopped instances by themselves (provider[/engine]
    # = days or hours, or none), and the time zone whose midnights split the days.
    savings_restart_caps: str = "aws=7d"
    savings_time_zone: str = "UTC"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls()
        settings.listen = env.get("LEDGER_LISTEN", settings.listen)
        settings.database_url = normalize_database_url(env.get("DATABASE_URL", ""))
        settings.data_dir = Path(env.get("LEDGER_DATA_DIR", str(settings.data_dir)))
        settings.migrate_database_url = env.get("LEDGER_MIGRATE_DATABASE_URL", "")
        settings.db_role = env.get("LEDGER_DB_ROLE", settings.db_role)
        settings.api_keys = keys_from(
            env.get("LEDGER_API_KEYS", ""), env.get("LEDGER_API_KEYS_FILE")
        )
        for name, attribute in (
            ("LEDGER_TLS_CERT", "tls_cert"),
            ("LEDGER_TLS_KEY", "tls_key"),
            ("LEDGER_TLS_CLIENT_CA", "tls_client_ca"),
        ):
            if env.get(name):
                setattr(settings, attribute, Path(env[name]))
        settings.log_level = env.get("LEDGER_LOG_LEVEL", settings.log_level).upper()
        settings.pool_size = int(env.get("LEDGER_DB_POOL_SIZE", settings.pool_size))
        settings.workers = _positive_int(env.get("LEDGER_WORKERS", "1"), "LEDGER_WORKERS")
        settings.metrics_listen = env.get("LEDGER_METRICS_LISTEN", settings.metrics_listen)
        if env.get("LEDGER_BLOB_DIR"):
            settings.blob_dir = Path(env["LEDGER_BLOB_DIR"])
        settings.output_inline_max_bytes = _positive_int(
            env.get("LEDGER_OUTPUT_INLINE_MAX_BYTES", str(settings.output_inline_max_bytes)),
            "LEDGER_OUTPUT_INLINE_MAX_BYTES",
        )
        settings.output_database_max_bytes = _positive_int(
            env.get("LEDGER_OUTPUT_DATABASE_MAX_BYTES", str(settings.output_database_max_bytes)),
            "LEDGER_OUTPUT_DATABASE_MAX_BYTES",
        )
        settings.redis_url = env.get("LEDGER_REDIS_URL", settings.redis_url)
        settings.log_poll_seconds = _positive_float(
            env.get("LEDGER_LOG_POLL_SECONDS", str(settings.log_poll_seconds)),
            "LEDGER_LOG_POLL_SECONDS",
        )
        settings.max_concurrent_streams = _positive_int(
            env.get("LEDGER_MAX_CONCURRENT_STREAMS", str(settings.max_concurrent_streams)),
            "LEDGER_MAX_CONCURRENT_STREAMS",
        )
        settings.savings_restart_caps = env.get(
            "LEDGER_SAVINGS_RESTART_CAPS", settings.savings_restart_caps
        )
        settings.savings_time_zone = env.get("LEDGER_SAVINGS_TIME_ZONE", settings.savings_time_zone)
        return settings

    @property
    def blob_root(self) -> Path:
        """Where evaluation blobs live: LEDGER_BLOB_DIR, else beside the embedded data."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def set_role(self) -> str:
        """The role to SET ROLE to after connecting; empty for none."""
        return "" if self.db_role == NO_ROLE else self.db_role

    def check(self) -> None:
        """Refuses settings that would be unsafe or cannot work."""
        if not self.db_role.strip():
            # Empty used to mean "no SET ROLE", silently serving as whatever logged in.
            raise ValueError(
                "LEDGER_DB_ROLE is empty: name the role to SET ROLE to (default ledger_app), "
                f"or set it to '{NO_ROLE}' when the login role itself holds only SELECT and "
                "INSERT"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("TLS needs both LEDGER_TLS_CERT and LEDGER_TLS_KEY")
        if self.tls_client_ca and not self.tls_cert:
            raise ValueError("LEDGER_TLS_CLIENT_CA (mTLS) needs a server certificate too")
        if not self.api_keys and not is_loopback(self.listen):
            raise ValueError(
                f"refusing to listen on {self.listen} with no API keys: set LEDGER_API_KEYS "
                "or LEDGER_API_KEYS_FILE, or listen on 127.0.0.1 / [::1] / localhost"
            )
        if self.output_database_max_bytes < self.output_inline_max_bytes:
            raise ValueError(
                "LEDGER_OUTPUT_DATABASE_MAX_BYTES must not be below LEDGER_OUTPUT_INLINE_MAX_BYTES"
            )
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.workers > 1 and self.listen.startswith("unix:"):
            # Each worker would bind the socket file anew and only the last would be
            # reached: workers share a TCP port, not a path.
            raise ValueError(f"{self.workers} workers need a host:port, not {self.listen!r}")
        if self.workers > 1 and self.listen.rsplit(":", 1)[-1] in ("", "0"):
            raise ValueError(
                f"{self.workers} workers need a fixed port to share, not {self.listen!r}"
            )
        if self.metrics_listen:
            _, port = split_metrics_listen(self.metrics_listen)
            if port and str(port) == self.listen.rsplit(":", 1)[-1]:
                raise ValueError(f"the metrics need a port of their own, not gRPC's {port}")
        policy_from(self.savings_restart_caps, self.savings_time_zone)  # ValueError if bad


# The driver Ledger ships with. Tools print `postgresql://` or `postgres://` (psql, pg_ctl,
# cloud consoles), which SQLAlchemy 2.1 would hand to psycopg 3, a driver Ledger does not
# install; so both mean psycopg2 here.
BUNDLED_SCHEME = "postgresql+psycopg2"
_POSTGRES_SCHEMES = ("postgresql", "postgres", BUNDLED_SCHEME)


def normalize_database_url(url: str) -> str:
    """`url` with the bundled driver; empty stays empty (the embedded database).

    Raises ValueError, in one line, for anything Ledger cannot connect to. The message names
    the scheme only: the rest of a URL may hold a password.
    """
    if not url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(
            "the database URL must look like postgresql://user:password@host:5432/database"
        )
    if scheme.lower() not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use postgresql://, postgres:// "
            f"or {BUNDLED_SCHEME}://"
        )
    return f"{BUNDLED_SCHEME}://{rest}"


def _positive_int(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def split_metrics_listen(listen: str) -> tuple[str, int]:
    """The metrics address `host:port` (`[::1]:9464` for IPv6) as a host and a port."""
    host, separator, port = listen.rpartition(":")
    host = host.strip("[]")
    if not separator or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"the metrics address must be host:port, got {listen!r}")
    return host, int(port)


def keys_from(spec: str, file: str | None) -> list[ApiKey]:
    """API keys from `name:role:key,...` or from a file of them: one or the other."""
    if spec and file:
        raise ValueError("set LEDGER_API_KEYS or LEDGER_API_KEYS_FILE, not both")
    if file:
        return read_keys_file(Path(file))
    return parse_keys(spec, source="LEDGER_API_KEYS")


def is_loopback(listen: str) -> bool:
    """Whether `listen` (host:port) binds loopback addresses only.

    A name counts by what it resolves to, every address of it: `localhost` is loopback,
    `127.example.com` is whatever DNS says (not loopback for being spelled with 127).
    A name that does not resolve is not loopback: the server refuses rather than guess.
    """
    host = listen.rsplit(":", 1)[0]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return False  # ":50051" listens on every interface
    try:
        return _loopback_address(host)
    except ValueError:
        pass  # a name, not an address
    try:
        resolved = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(resolved) and all(_loopback_address(str(info[4][0])) for info in resolved)


def _loopback_address(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_loopback


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {text!r}")
    return value

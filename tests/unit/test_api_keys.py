"""API keys as configured: inline, from a file, and refused when they could never match."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger_server import app
from ledger_server.api_keys import Role, digest, parse_keys, read_keys_file
from ledger_server.cli import main
from ledger_server.config import Settings

HEX = hashlib.sha256(b"s3cret").hexdigest()


def test_keys_parse_by_name_role_and_key_or_digest() -> None:
    keys = parse_keys(f"ops:admin:plain, ci:writer:sha256={HEX.upper()}")
    assert [(k.name, k.role) for k in keys] == [("ops", Role.ADMIN), ("ci", Role.WRITER)]
    assert keys[0].digest == digest("plain")
    assert keys[1].digest == digest("s3cret")


@pytest.mark.parametrize(
    ("secret", "length"),
    [("sha256=", 0), ("sha256=ab", 2), (f"sha256={HEX}0", 65), (f"sha256={HEX[:-1]}g", 64)],
)
def test_a_sha256_key_needs_exactly_64_hex_digits(secret: str, length: int) -> None:
    with pytest.raises(ValueError, match=f"64 hex digits .* got {length} characters"):
        parse_keys(f"ops:admin:{secret}")


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ledger serve` must refuse before serving: serving here is a failure."""

    async def serve(*args: object) -> None:
        raise AssertionError("ledger serve started despite bad settings")

    monkeypatch.setattr(app, "serve", serve)


@pytest.mark.parametrize("secret", ["sha256=ab", "sha256="])
@pytest.mark.usefixtures("no_serving")
def test_serve_refuses_a_short_digest_in_one_line(
    secret: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_API_KEYS", f"ops:admin:{secret}")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "LEDGER_API_KEYS entry 1 (ops): sha256= must be followed by 64 hex digits" in err


def test_errors_never_show_the_secret() -> None:
    with pytest.raises(ValueError) as refused:
        parse_keys("ops:owner:hunter2")
    assert "hunter2" not in str(refused.value)


def test_keys_file_takes_lines_commas_and_comments(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(
        "# Ledger API keys\n"
        "ops:admin:first#half  # the on-call team\n"
        "\n"
        f"ci:writer:sha256={HEX}, dash:reader:third\n"
        "   # an indented comment\n"
    )
    keys = read_keys_file(keys_file)
    assert [k.name for k in keys] == ["ops", "ci", "dash"]
    assert keys[0].digest == digest("first#half")  # '#' inside a key is the key's
    assert keys[1].digest == digest("s3cret")


def test_settings_read_keys_from_the_file_named_in_the_environment(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("ops:admin:from-a-file\n")
    settings = Settings.from_env({"LEDGER_API_KEYS_FILE": str(keys_file)})
    assert [k.digest for k in settings.api_keys] == [digest("from-a-file")]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read the API keys file"), ("# nothing yet\n\n", "holds no keys")],
)
def test_a_keys_file_that_is_missing_or_empty_is_refused(
    tmp_path: Path, content: str | None, message: str
) -> None:
    keys_file = tmp_path / "keys"
    if content is not None:
        keys_file.write_text(content)
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"LEDGER_API_KEYS_FILE": str(keys_file)})


def test_keys_inline_and_from_a_file_at_once_are_refused(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("ops:admin:k\n")
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env(
            {"LEDGER_API_KEYS": "ci:writer:k", "LEDGER_API_KEYS_FILE": str(keys_file)}
        )


@pytest.mark.usefixtures("no_serving")
def test_serve_takes_a_keys_file_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("ops:admin:sha256=ab\n")
    assert main(["serve", "--api-keys-file", str(keys_file)]) == 2
    assert f"{keys_file} entry 1 (ops): sha256= must be followed by 64" in capsys.readouterr().err

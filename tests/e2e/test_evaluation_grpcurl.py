"""EvaluationService from grpcurl, with no proto files: JSON in, JSON out, streams too."""

from __future__ import annotations

import json

from tests.conftest import READER_KEY, WRITER_KEY
from tests.e2e.test_grpcurl import grpcurl
from tests.support.server import ServerThread

SERVICE = "ledger.v1.EvaluationService"


def test_create_update_get_and_read_output_with_grpcurl(server: ServerThread) -> None:
    created = grpcurl(
        server,
        f"{SERVICE}/CreateEvaluation",
        data=json.dumps({"code": "print(1)", "language": "python", "metadata": {"k": "v"}}),
        key=WRITER_KEY,
    )
    assert created.returncode == 0, created.stderr
    evaluation_id = json.loads(created.stdout)["evaluation"]["evaluation_id"]

    updated = grpcurl(
        server,
        f"{SERVICE}/UpdateEvaluation",
        data=json.dumps(
            {"evaluation_id": evaluation_id, "status": "EVALUATION_STATUS_RUNNING", "output": "1\n"}
        ),
        key=WRITER_KEY,
    )
    assert updated.returncode == 0, updated.stderr
    got = grpcurl(
        server,
        f"{SERVICE}/GetEvaluation",
        data=json.dumps({"evaluation_id": evaluation_id, "view": "EVALUATION_VIEW_FULL"}),
        key=READER_KEY,
    )
    evaluation = json.loads(got.stdout)["evaluation"]
    assert (evaluation["version"], evaluation["status"]) == ("2", "EVALUATION_STATUS_RUNNING")
    assert (evaluation["code"], evaluation["output"]) == ("print(1)", "1\n")
    assert evaluation["output_info"]["location"] == "STORAGE_LOCATION_DATABASE_INLINE"

    read = grpcurl(
        server,
        f"{SERVICE}/ReadEvaluationOutput",
        data=json.dumps({"evaluation_id": evaluation_id}),
        key=READER_KEY,
    )
    assert read.returncode == 0, read.stderr
    message = json.loads(read.stdout)
    assert (message["data"], message["next_read_offset"]) == ("MQo=", "2")  # base64 of "1\n"


def test_illegal_transition_in_grpcurl_names_both_states(server: ServerThread) -> None:
    created = grpcurl(
        server,
        f"{SERVICE}/CreateEvaluation",
        data=json.dumps({"code": "x", "status": "EVALUATION_STATUS_COMPLETED"}),
        key=WRITER_KEY,
    )
    evaluation_id = json.loads(created.stdout)["evaluation"]["evaluation_id"]

    refused = grpcurl(
        server,
        f"{SERVICE}/UpdateEvaluation",
        data=json.dumps({"evaluation_id": evaluation_id, "status": "EVALUATION_STATUS_RUNNING"}),
        key=WRITER_KEY,
    )

    assert refused.returncode != 0
    shown = refused.stdout + refused.stderr
    assert "FailedPrecondition" in shown and "EVALUATION_FINISHED" in shown

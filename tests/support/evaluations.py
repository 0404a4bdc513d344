"""Evaluations for tests of what hangs off them (logs): created and finished over gRPC."""

from __future__ import annotations

import uuid

import grpc

from ledger.v1 import evaluation_pb2 as ev
from ledger.v1 import evaluation_service_pb2 as es
from ledger.v1.evaluation_service_pb2_grpc import EvaluationServiceStub
from tests.conftest import ADMIN_KEY

AUTH = (("authorization", f"Bearer {ADMIN_KEY}"),)


def create_evaluation(target: str, prefix: str = "eval") -> str:
    with grpc.insecure_channel(target) as channel:
        reply = EvaluationServiceStub(channel).CreateEvaluation(
            es.CreateEvaluationRequest(
                evaluation_id=f"{prefix}_{uuid.uuid4().hex[:16]}", code="print('hi')"
            ),
            metadata=AUTH,
            timeout=10,
        )
    return str(reply.evaluation.evaluation_id)


def set_status(target: str, evaluation_id: str, status: ev.EvaluationStatus.ValueType) -> None:
    with grpc.insecure_channel(target) as channel:
        EvaluationServiceStub(channel).UpdateEvaluation(
            es.UpdateEvaluationRequest(evaluation_id=evaluation_id, status=status),
            metadata=AUTH,
            timeout=10,
        )


def complete(target: str, evaluation_id: str) -> None:
    set_status(target, evaluation_id, ev.EVALUATION_STATUS_COMPLETED)

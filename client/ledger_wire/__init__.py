"""What both ends of Ledger's wire agree on: exact money, message limits.

Pure Python with no gRPC or protobuf import, so the server's domain layer and the SDK
share one definition instead of two that could drift.
"""

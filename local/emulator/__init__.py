"""Offline stand-in for Bedrock's runtime, knowledge base and SageMaker endpoints, on their wire."""

from .guardrails import LocalGuardrail, local_guardrail_id
from .knowledge_bases import LocalKnowledgeBase, local_ids
from .request_log import RecordedRequest
from .sagemaker import LocalEndpoint
from .server import Emulator, start_emulator

__all__ = [
    "Emulator",
    "LocalEndpoint",
    "LocalGuardrail",
    "LocalKnowledgeBase",
    "RecordedRequest",
    "local_guardrail_id",
    "local_ids",
    "start_emulator",
]

"""Offline stand-in for Bedrock's runtime and knowledge base endpoints, on their wire protocol."""

from .knowledge_bases import LocalKnowledgeBase, local_ids
from .request_log import RecordedRequest
from .server import Emulator, start_emulator

__all__ = ["Emulator", "LocalKnowledgeBase", "RecordedRequest", "local_ids", "start_emulator"]

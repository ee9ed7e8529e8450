"""Offline stand-in for the bedrock-runtime endpoint, speaking its real wire protocol."""

from .request_log import RecordedRequest
from .server import Emulator, start_emulator

__all__ = ["Emulator", "RecordedRequest", "start_emulator"]

"""Offline stand-in for the bedrock-runtime endpoint, speaking its real wire protocol."""

from .server import Emulator, RecordedRequest, start_emulator

__all__ = ["Emulator", "RecordedRequest", "start_emulator"]

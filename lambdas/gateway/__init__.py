"""The OpenAI-compatible Bedrock gateway: a framework-free core behind one small ASGI app."""

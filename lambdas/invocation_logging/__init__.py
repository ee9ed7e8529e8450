"""Bedrock model invocation logging as code (custom resource handler)."""

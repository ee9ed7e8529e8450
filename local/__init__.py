"""Local tooling: the Bedrock emulator, the local gateway runner and doc generators."""

"""Reusable CDK constructs wired together by the stacks."""

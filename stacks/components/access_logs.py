"""The bucket S3 server access logs go to: SSE-S3 (the only encryption S3 logging delivers to)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import acknowledge_both_packs


def access_log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: RemovalPolicy,
    expiration_days: int,
    no_replication_reason: str,
) -> s3.Bucket:
    """A private, TLS-only, versioned bucket of access logs, expiring after `expiration_days`."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,  # server access logs require SSE-S3
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=removal_policy,
        auto_delete_objects=removal_policy is RemovalPolicy.DESTROY,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(expiration_days))],
    )
    acknowledge_both_packs(bucket, "S3BucketReplicationEnabled", no_replication_reason)
    acknowledge_both_packs(bucket, "S3DefaultEncryptionKMS", reasons.ACCESS_LOGS_SSE_S3)
    return bucket

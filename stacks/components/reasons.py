"""Why each acknowledged cdk-nag finding or skipped checkov check is deliberate.

One catalogue of texts, so docs/security/report-<env>.md and reviewers read one wording; each
construct acknowledges its own findings with these (stacks/components/findings.py).
"""

from __future__ import annotations

VPC_NETWORKING_WILDCARD = (
    "Only the Lambda VPC networking actions (ec2:CreateNetworkInterface, "
    "DescribeNetworkInterfaces, DeleteNetworkInterface, Assign/UnassignPrivateIpAddresses) use "
    "'*': EC2 offers no resource-level permissions for Describe, and the interfaces do not "
    "exist before Lambda creates them. No other statement, and no Bedrock action, uses '*'."
)
SYNCHRONOUS_LAMBDA = (
    "Invoked synchronously by API Gateway only: a dead-letter queue applies to asynchronous "
    "invocations and would never receive anything. Failures are answered to the caller, "
    "logged and counted in the per-request metrics."
)
NO_RESERVED_CONCURRENCY = (
    "Reserved concurrency is off in this environment's config (gateway.reserved_concurrency "
    "or api.authorizer_reserved_concurrency = 0): every reservation is taken from the "
    "account's unreserved pool, which Lambda keeps at 100 or more, so new accounts cannot "
    "afford one. Usage plans, stage throttling and WAF bound the traffic instead."
)
PLAIN_ENVIRONMENT = (
    "The environment holds no secret: file and table names, timeouts and Web Adapter "
    "settings, all visible in the template anyway. Lambda encrypts it at rest with an "
    "AWS-owned key; a customer key would add a KMS call to every cold start for nothing."
)
AUTHORIZER_PLAIN_ENVIRONMENT = (
    "The environment holds no secret: the keys table's name and each team's usage-plan API key "
    "*id* (never a key value), both visible in the template anyway. Lambda encrypts it at rest "
    "with an AWS-owned key; a customer key would add a KMS call to every cold start for nothing."
)
AUTHORIZER_OUTSIDE_VPC = (
    "The API key authorizer calls only DynamoDB (GetItem of one key record) and API Gateway "
    "(GetApiKey of its team's usage-plan key), both over their regional HTTPS endpoints with "
    "SigV4; it reaches no resource inside the VPC. Outside it, it starts faster and costs no "
    "network interfaces when junk tokens arrive; its role allows exactly those two reads."
)
NO_CACHE = (
    "Responses are per-request model generations (POST bodies) and the chat route streams; "
    "API Gateway caching cannot serve them and is unsupported with response streaming. No "
    "response is stored, so there is nothing to encrypt at rest."
)
NO_BACKEND_CERTIFICATE = (
    "Client certificates authenticate API Gateway to HTTP backends; every integration here is "
    "a Lambda proxy integration, called by API Gateway through the signed AWS Lambda API over "
    "TLS, so there is no backend endpoint to present a certificate to."
)
NO_WAF = (
    "api.waf is off in this non-production environment's config: stage throttling, usage "
    "plans and API keys bound valid traffic, but not junk traffic without a valid key, which "
    "can use up the stage throttle (accepted in docs/security/threat-model.md). Production "
    "environments get AWS WAF with a per-IP rate-based rule by default."
)
NO_COGNITO = (
    "Callers are services using the kit's API keys (the OpenAI SDK's Bearer token, checked by "
    "the kit's Lambda authorizer against hashed records and metered by per-team usage plans) or "
    "AWS IAM (SigV4); there are no end users to sign in with a Cognito user pool."
)
APIGW_LOGGING_ROLE = (
    "api.manage_account_logging_role is on: this environment owns the account-and-region "
    "API Gateway logging role, which must write the log groups of any API in the region; "
    "this AWS-maintained policy grants CloudWatch Logs actions only."
)
ACCOUNT_LEVEL_WILDCARD = (
    "Bedrock's model-access and invocation-logging settings are account-level: their actions "
    "(GetFoundationModelAvailability, Get/PutUseCaseForModelAccess, agreement offers, "
    "Put/Get/DeleteModelInvocationLoggingConfiguration) take no resource ARN, so IAM accepts "
    "only '*'. GetFoundationModel is scoped to the enabled models; the VPC networking actions "
    "have no resource scoping either."
)
LOG_STREAMS_WILDCARD = (
    "The ':*' suffix covers the log streams inside this one log group (logs:CreateLogStream "
    "and logs:PutLogEvents act on streams, whose names Lambda chooses); no other log group is "
    "reachable."
)
HANDLER_VERSIONS_WILDCARD = (
    "The ':*' suffix covers the versions and aliases of this one handler function, which the "
    "provider framework invokes; no other function."
)
DEPLOY_TIME_LAMBDA = (
    "Runs only when CloudFormation creates, updates or deletes the resource; a failure fails "
    "that deployment visibly with the reason, and the provider framework handles retries. A "
    "dead-letter queue would hold events nobody can replay."
)
DEPLOY_TIME_CONCURRENCY = (
    "Runs only during deployments, one CloudFormation request at a time; reserving "
    "concurrency for it would take capacity from the account's unreserved pool all year for "
    "a few invocations per deployment."
)
PROVIDER_FRAMEWORK = (
    "CDK's custom-resource provider framework function: it only relays CloudFormation's "
    "request to the handler (which runs in the VPC) and answers CloudFormation's pre-signed "
    "response URL, which it cannot reach from the isolated subnets. It runs during "
    "deployments only, one request at a time, and holds no data."
)
NO_REPLICATION = (
    "Replication would copy Bedrock invocation logs (prompts and completions) to another "
    "region, against the data-residency choice this kit makes explicit; versioning, "
    "retention and the prod RETAIN policy protect against loss instead."
)
ACCESS_LOGS_SSE_S3 = (
    "S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES-256), not "
    "SSE-KMS; this bucket holds access logs only, never model content."
)
CDK_DEFAULT_SG_HANDLER = (
    "CDK's own deploy-time handler that removes the default security group's rules "
    "(restrict_default_security_group). It runs only during stack operations, invoked by "
    "CloudFormation, and must reach the EC2 API, which the isolated VPC cannot."
)
CDK_AUTO_DELETE_HANDLER = (
    "CDK's own deploy-time handler that empties the bucket when a non-production stack is "
    "deleted (auto_delete_objects, only when logs are not retained). It runs only during "
    "stack deletion, invoked by CloudFormation, and must reach the S3 API."
)
ROLE_OWN_POLICY = (
    "Each role has exactly one policy of its own, built from grants where its resources are "
    "defined and used by nothing else: AWS's IAM guide recommends inline policies for such a "
    "strict one-to-one relationship, so the permissions are deleted with the role and cannot "
    "be attached elsewhere by mistake."
)
AUDITOR_READS_OBJECTS = (
    "The auditor reads the objects of this one bucket (invocation logs, whose keys Bedrock "
    "chooses by date); no other bucket, and no write or delete action."
)
TABLES_USE_PITR = (
    "Point-in-time recovery is on: the table can be restored to any second of the last 35 "
    "days. It holds small, reissuable records (hashed API keys, monthly usage counters); an "
    "AWS Backup plan would add a vault, a service role and stored copies for no recovery point "
    "PITR does not already give."
)
PREFIX_LIST_LOOKUP = (
    "CDK's AwsCustomResource function that looks up the ID of the AWS-managed DynamoDB prefix "
    "list (ec2:DescribeManagedPrefixLists) so the gateway's security group can allow HTTPS to "
    "DynamoDB by an explicit rule; CloudFormation offers no other way to read that ID. It runs "
    "only during stack operations, invoked by CloudFormation, and must reach the EC2 API, which "
    "the isolated VPC cannot."
)
PREFIX_LIST_LOOKUP_RETRIES = (
    "Runs only when CloudFormation creates or updates the lookup; a failure fails that "
    "deployment visibly with the reason, and the next deployment simply asks again. A "
    "dead-letter queue would hold events nobody can replay."
)
PREFIX_LIST_LOOKUP_WILDCARD = (
    "ec2:DescribeManagedPrefixLists is a Describe action, for which EC2 supports no "
    "resource-level permissions: IAM accepts only '*'. It is the lookup function's only action."
)
LAMBDA_BASIC_EXECUTION = (
    "AWSLambdaBasicExecutionRole, which CDK attaches to its own custom-resource function, "
    "grants only CloudWatch Logs actions (create the function's log group and streams, put "
    "events)."
)
KB_NO_REPLICATION = (
    "The documents a knowledge base answers from (and their access logs) stay in the region "
    "the environment runs in, as its data-residency choice; versioning and, in production, "
    "the RETAIN policy protect against loss instead of a copy in another region."
)
KB_READS_DOCUMENTS = (
    "The knowledge base's service role reads the objects of its own documents bucket (under "
    "its prefix, if any): whatever the platform team uploads there, whose keys it cannot know "
    "in advance. No other bucket, and no write or delete action (Bedrock user guide, "
    "kb-permissions.html)."
)
KB_SYNC_CALL = (
    "CDK's AwsCustomResource function that starts the knowledge base's first ingestion job "
    "(bedrock:StartIngestionJob on that knowledge base only) when its data source is created "
    "or changed. It runs only during stack operations, invoked by CloudFormation, and must "
    "reach the Bedrock API, which the kit's isolated VPC does not route to for it."
)
KB_SYNC_RETRIES = (
    "Runs only when CloudFormation creates or updates the data source; a failure fails that "
    "deployment visibly with the reason, and `make ingest` starts the same job by hand. A "
    "dead-letter queue would hold events nobody can replay."
)
ACCESS_LOGS_NOT_LOGGED = (
    "This bucket receives the server access logs of the knowledge bases' document buckets; "
    "logging it too would need another bucket, whose own logs would need another. It holds "
    "access records only, never documents."
)
KB_DOMAIN_INDEX_PATHS = (
    "OpenSearch authorizes HTTP requests by their path: searching and writing one index "
    "(_search, _bulk, _doc/ID) are paths under it. The wildcard stays inside the one index "
    "config names, on the one domain (Bedrock user guide, OpenSearch managed cluster "
    "permissions)."
)
KENDRA_INDEX_ROLE = (
    "The role a Kendra index writes its metrics and logs with, as the Kendra developer guide "
    "gives it: cloudwatch:PutMetricData only in the AWS/Kendra namespace (the action supports "
    "no resource), logs:DescribeLogGroups (no resource either), and log groups and streams "
    "under /aws/kendra/ only."
)

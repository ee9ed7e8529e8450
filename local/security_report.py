"""`make security-report`: writes docs/security/report-<env>.md for every config/<env>.toml.

Everything comes from the templates and the construct tree (roles, statements, endpoints,
security groups, API, encryption, network, functions, cdk-nag acknowledgments), so the report
cannot drift from what would be deployed. A test fails when the committed report is stale.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.cfn import render as _render

ROOT = Path(__file__).resolve().parent.parent
REPORT_DIR = ROOT / "docs" / "security"
ENVIRONMENTS = ("dev", "prod")


def report_path(env_name: str) -> Path:
    """Where the report of one environment is committed."""
    return REPORT_DIR / f"report-{env_name}.md"


PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return f"`{text}`"


def _statements(document: Any) -> Iterator[str]:
    for statement in _list(_render(document).get("Statement", [])):
        sid = statement.get("Sid", "-")
        who = statement.get("Principal")
        parts = [
            f"**{statement.get('Effect')}** `{sid}`",
            "actions " + ", ".join(_code(a) for a in _list(statement.get("Action", []))),
            "on " + ", ".join(_code(r) for r in _list(statement.get("Resource", "-"))),
        ]
        if who is not None:
            parts.insert(1, f"principal {_code(who)}")
        if "Condition" in statement:
            parts.append(f"when {_code(statement['Condition'])}")
        yield "  - " + "; ".join(parts)


class _Templates:
    """All resources of all stacks, addressable by stack and logical id."""

    def __init__(self, templates: dict[str, dict[str, Any]]) -> None:
        self.templates = templates

    def resources(self, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for stack, template in sorted(self.templates.items()):
            for logical_id, resource in sorted(template.get("Resources", {}).items()):
                if resource["Type"] == resource_type:
                    yield stack, logical_id, resource

    def path(self, stack: str, logical_id: str) -> str:
        resource = self.templates[stack]["Resources"].get(logical_id, {})
        return str(resource.get("Metadata", {}).get("aws:cdk:path", f"{stack}/{logical_id}"))


def _roles(t: _Templates) -> list[str]:
    lines = ["## IAM roles and their policies", ""]
    # A policy names its roles by Ref, which resolves within its own stack only: two stacks'
    # roles may share a logical id (CDK's one SDK-call function per stack does).
    policies: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] = {}
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for stack, logical_id, resource in t.resources(policy_type):
            for role in _list(resource["Properties"].get("Roles", [])):
                key = (stack, str(_render(role)))
                policies.setdefault(key, []).append((stack, logical_id, resource))
    for stack, logical_id, role in t.resources("AWS::IAM::Role"):
        properties = role["Properties"]
        lines.append(f"### {t.path(stack, logical_id)}")
        lines.append("")
        if properties.get("Description"):
            lines.append(f"{properties['Description']}")
            lines.append("")
        lines.append("- Trust policy:")
        lines.extend(_statements(properties["AssumeRolePolicyDocument"]))
        if "PermissionsBoundary" in properties:
            lines.append(
                f"- Permissions boundary: {_code(_render(properties['PermissionsBoundary']))}"
            )
        for managed in _list(properties.get("ManagedPolicyArns", [])):
            lines.append(f"- AWS managed policy: {_code(_render(managed))}")
        for inline in properties.get("Policies", []):
            lines.append(f"- Inline policy `{inline['PolicyName']}`:")
            lines.extend(_statements(inline["PolicyDocument"]))
        for policy_stack, policy_id, policy in policies.get((stack, "${" + logical_id + "}"), []):
            kind = "Customer-managed" if policy["Type"] == "AWS::IAM::ManagedPolicy" else "Inline"
            lines.append(f"- {kind} policy {t.path(policy_stack, policy_id)}:")
            lines.extend(_statements(policy["Properties"]["PolicyDocument"]))
        lines.append("")
    return lines


def _endpoints_and_network(t: _Templates) -> list[str]:
    lines = ["## Network", ""]
    for stack, logical_id, vpc in t.resources("AWS::EC2::VPC"):
        lines.append(
            f"- VPC {t.path(stack, logical_id)}: CIDR {_code(vpc['Properties']['CidrBlock'])}"
        )
    for stack, logical_id, subnet in t.resources("AWS::EC2::Subnet"):
        public = subnet["Properties"].get("MapPublicIpOnLaunch")
        lines.append(f"- Subnet {t.path(stack, logical_id)}: public IPs on launch: {public}")
    gateways = sum(1 for _ in t.resources("AWS::EC2::InternetGateway"))
    nats = sum(1 for _ in t.resources("AWS::EC2::NatGateway"))
    lines.append(f"- Internet gateways: {gateways}; NAT gateways: {nats}")
    for stack, logical_id, route in t.resources("AWS::EC2::Route"):
        lines.append(f"- Route {t.path(stack, logical_id)}: {_code(_render(route['Properties']))}")
    for stack, logical_id, flow in t.resources("AWS::EC2::FlowLog"):
        properties = _render(flow["Properties"])
        lines.append(
            f"- Flow log {t.path(stack, logical_id)}: {properties.get('TrafficType')} traffic"
        )
    lines += ["", "### VPC endpoints", ""]
    for stack, logical_id, endpoint in t.resources("AWS::EC2::VPCEndpoint"):
        properties = endpoint["Properties"]
        lines.append(
            f"- {_code(_render(properties['ServiceName']))} ({properties.get('VpcEndpointType')}, "
            f"private DNS {properties.get('PrivateDnsEnabled')}), {t.path(stack, logical_id)}"
        )
        if "PolicyDocument" in properties:
            lines.extend(_statements(properties["PolicyDocument"]))
    lines += ["", "### Security groups", ""]
    for stack, logical_id, group in t.resources("AWS::EC2::SecurityGroup"):
        properties = group["Properties"]
        lines.append(f"- {t.path(stack, logical_id)}: {properties.get('GroupDescription')}")
        for direction in ("SecurityGroupIngress", "SecurityGroupEgress"):
            for rule in properties.get(direction, []):
                lines.append(f"  - {direction[13:].lower()}: {_code(_render(rule))}")
    for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        for stack, logical_id, rule in t.resources(kind):
            lines.append(
                f"- {kind.split('::')[-1]} {t.path(stack, logical_id)}: {_code(_render(rule['Properties']))}"
            )
    return [*lines, ""]


def _api(t: _Templates) -> list[str]:
    lines = ["## API front door", ""]
    for _stack, _logical_id, api in t.resources("AWS::ApiGateway::RestApi"):
        properties = api["Properties"]
        lines.append(
            f"- REST API {properties.get('Name')}: endpoint {_code(properties.get('EndpointConfiguration'))}, API key source {properties.get('ApiKeySourceType')}"
        )
        if "Policy" in properties:
            lines.append("- Resource policy:")
            lines.extend(_statements(properties["Policy"]))
    paths: dict[str, str] = {}
    for _stack, logical_id, resource in t.resources("AWS::ApiGateway::Resource"):
        paths[logical_id] = resource["Properties"]["PathPart"]
    parents = {
        lid: r["Properties"]["ParentId"] for _s, lid, r in t.resources("AWS::ApiGateway::Resource")
    }

    def full_path(reference: Any) -> str:
        logical_id = reference.get("Ref") if isinstance(reference, dict) else None
        if logical_id not in paths:
            return ""
        return full_path(parents[logical_id]) + "/" + paths[logical_id]

    for _stack, _logical_id, method in t.resources("AWS::ApiGateway::Method"):
        p = method["Properties"]
        integration = p.get("Integration", {})
        lines.append(
            f"- `{p['HttpMethod']} {full_path(p['ResourceId']) or '/'}`: "
            f"authorization {p.get('AuthorizationType')}, "
            f"API key required {p.get('ApiKeyRequired')}, integration {integration.get('Type')} "
            f"({integration.get('ResponseTransferMode', 'BUFFERED')})"
        )
    for _stack, _logical_id, authorizer in t.resources("AWS::ApiGateway::Authorizer"):
        p = authorizer["Properties"]
        lines.append(
            f"- Authorizer: {p.get('Type')} on {_code(p.get('IdentitySource'))}, cache {p.get('AuthorizerResultTtlInSeconds')} s"
        )
    for _stack, _logical_id, stage in t.resources("AWS::ApiGateway::Stage"):
        p = stage["Properties"]
        fields = (
            sorted(json.loads(p["AccessLogSetting"]["Format"])) if "AccessLogSetting" in p else []
        )
        lines.append(
            f"- Stage `{p.get('StageName')}`: tracing {p.get('TracingEnabled')}, method settings {_code(p.get('MethodSettings'))}"
        )
        lines.append(f"  - access log fields (no bodies, no keys): {', '.join(fields)}")
    for _stack, _logical_id, answer in t.resources("AWS::ApiGateway::GatewayResponse"):
        p = answer["Properties"]
        lines.append(
            f"- Gateway response {p['ResponseType']} (status {p.get('StatusCode', 'unchanged')}): "
            f"{_code(p.get('ResponseTemplates', {}).get('application/json', '-'))}"
        )
    for _stack, _logical_id, key in t.resources("AWS::ApiGateway::ApiKey"):
        p = key["Properties"]
        value = "set in the template" if "Value" in p else "generated by API Gateway, never output"
        lines.append(f"- API key '{p.get('Description')}': value {value}")
    for _stack, _logical_id, plan in t.resources("AWS::ApiGateway::UsagePlan"):
        p = plan["Properties"]
        lines.append(
            f"- Usage plan '{p.get('Description')}': throttle {_code(p.get('Throttle'))}, quota {_code(p.get('Quota'))}"
        )
    for _stack, _logical_id, acl in t.resources("AWS::WAFv2::WebACL"):
        for rule in sorted(acl["Properties"]["Rules"], key=lambda r: r["Priority"]):
            statement = rule["Statement"]
            if "RateBasedStatement" in statement:
                rate = statement["RateBasedStatement"]
                lines.append(
                    f"- WAF rule {rule['Name']}: block above {rate['Limit']} requests per "
                    f"{rate['EvaluationWindowSec']} s per {rate['AggregateKeyType']}"
                )
            else:
                group = statement["ManagedRuleGroupStatement"]["Name"]
                lines.append(f"- WAF rule {rule['Name']}: AWS managed rule group {group}")
    return [*lines, ""]


def _encryption(t: _Templates) -> list[str]:
    lines = ["## Encryption and data at rest", ""]
    for stack, logical_id, key in t.resources("AWS::KMS::Key"):
        lines.append(
            f"- KMS key {t.path(stack, logical_id)}: rotation {key['Properties'].get('EnableKeyRotation')}, deletion policy {key.get('DeletionPolicy', 'Delete')}"
        )
        lines.extend(_statements(key["Properties"]["KeyPolicy"]))
    for stack, logical_id, group in t.resources("AWS::Logs::LogGroup"):
        p = group["Properties"]
        lines.append(
            f"- Log group {t.path(stack, logical_id)}: retention {p.get('RetentionInDays')} days, "
            f"KMS {'yes' if 'KmsKeyId' in p else 'no'}, "
            f"deletion policy {group.get('DeletionPolicy', 'Delete')}"
        )
    for stack, logical_id, bucket in t.resources("AWS::S3::Bucket"):
        p = bucket["Properties"]
        encryption = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
        algorithm = encryption.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        lines.append(
            f"- Bucket {t.path(stack, logical_id)}: encryption {algorithm}, public access blocked "
            f"{p.get('PublicAccessBlockConfiguration') is not None}, "
            f"access logging {'LoggingConfiguration' in p}, "
            f"versioning {p.get('VersioningConfiguration', {}).get('Status')}"
        )
    for stack, logical_id, table in t.resources("AWS::DynamoDB::Table"):
        p = _render(table["Properties"])
        keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in p["KeySchema"])
        sse = p.get("SSESpecification", {})
        ttl = p.get("TimeToLiveSpecification", {})
        lines.append(
            f"- DynamoDB table {t.path(stack, logical_id)}: key {keys}, "
            f"billing {p.get('BillingMode', 'PROVISIONED')}, "
            f"encryption {_code(sse.get('KMSMasterKeyId', 'AWS owned key'))}, "
            f"point-in-time recovery "
            f"{p.get('PointInTimeRecoverySpecification', {}).get('PointInTimeRecoveryEnabled')}, "
            f"TTL {ttl.get('AttributeName') if ttl.get('Enabled') else '-'}, "
            f"deletion protection {p.get('DeletionProtectionEnabled', False)}, "
            f"deletion policy {table.get('DeletionPolicy', 'Delete')}"
        )
    for stack, logical_id, policy in t.resources("AWS::S3::BucketPolicy"):
        lines.append(f"- Bucket policy {t.path(stack, logical_id)}:")
        lines.extend(_statements(policy["Properties"]["PolicyDocument"]))
    for _stack, _logical_id, topic in t.resources("AWS::SNS::Topic"):
        lines.append(
            f"- SNS topic {topic['Properties'].get('DisplayName')}: KMS {'KmsMasterKeyId' in topic['Properties']}"
        )
    return [*lines, ""]


def _knowledge_bases(t: _Templates) -> list[str]:
    """Each knowledge base: kind, store, role, data source; its vector store's protections."""
    lines = ["## Knowledge bases", ""]
    for stack, logical_id, kb in t.resources("AWS::Bedrock::KnowledgeBase"):
        p = _render(kb["Properties"])
        storage = p.get("StorageConfiguration", {}).get("Type", "none (Kendra index)")
        kind = p["KnowledgeBaseConfiguration"]["Type"]
        lines.append(
            f"- Knowledge base {t.path(stack, logical_id)}: {_code(p['Name'])}, type {kind}, "
            f"store {storage}, service role {_code(p['RoleArn'])}"
        )
    for stack, logical_id, source in t.resources("AWS::Bedrock::DataSource"):
        p = _render(source["Properties"])
        s3 = p["DataSourceConfiguration"].get("S3Configuration", {})
        lines.append(
            f"- Data source {t.path(stack, logical_id)}: bucket {_code(s3.get('BucketArn'))}, "
            f"prefixes {_code(s3.get('InclusionPrefixes', []))}, transient-data key "
            f"{_code(p.get('ServerSideEncryptionConfiguration', {}).get('KmsKeyArn', '-'))}, "
            f"deletion {p.get('DataDeletionPolicy', 'DELETE')}"
        )
    for stack, logical_id, bucket in t.resources("AWS::S3Vectors::VectorBucket"):
        encryption = _render(bucket["Properties"].get("EncryptionConfiguration", {}))
        lines.append(
            f"- Vector bucket {t.path(stack, logical_id)}: encryption "
            f"{encryption.get('SseType', 'AES256')} {_code(encryption.get('KmsKeyArn', '-'))}"
        )
    for kind in (
        "AWS::OpenSearchServerless::SecurityPolicy",
        "AWS::OpenSearchServerless::AccessPolicy",
    ):
        for stack, logical_id, policy in t.resources(kind):
            p = _render(policy["Properties"])
            lines.append(
                f"- OpenSearch Serverless {p['Type']} policy {t.path(stack, logical_id)}: "
                f"{_code(p['Policy'])}"
            )
    if len(lines) == 2:
        lines.append("None.")
    return [*lines, ""]


def _guardrails(t: _Templates) -> list[str]:
    """Each guardrail's policies as deployed, and the versions the gateway applies."""
    lines = ["## Guardrails", ""]
    for stack, logical_id, guardrail in t.resources("AWS::Bedrock::Guardrail"):
        p = _render(guardrail["Properties"])
        filters = p.get("ContentPolicyConfig", {}).get("FiltersConfig", [])
        topics = p.get("TopicPolicyConfig", {}).get("TopicsConfig", [])
        words = p.get("WordPolicyConfig", {})
        sensitive = p.get("SensitiveInformationPolicyConfig", {})
        lines.append(f"- Guardrail {t.path(stack, logical_id)}: {_code(p['Name'])}")
        lines.append(
            "  - content filters: "
            + (
                ", ".join(
                    f"{f['Type']} {f['InputStrength']}/{f['OutputStrength']}" for f in filters
                )
                or "-"
            )
        )
        lines.append("  - denied topics: " + (", ".join(topic["Name"] for topic in topics) or "-"))
        lines.append(
            f"  - words: {len(words.get('WordsConfig', []))}, managed lists: "
            + (", ".join(w["Type"] for w in words.get("ManagedWordListsConfig", [])) or "-")
        )
        lines.append(
            "  - sensitive information: "
            + (
                ", ".join(
                    f"{e['Type']} {e['Action']}" for e in sensitive.get("PiiEntitiesConfig", [])
                )
                or "-"
            )
            + f"; regexes: {len(sensitive.get('RegexesConfig', []))}"
        )
    for stack, logical_id, version in t.resources("AWS::Bedrock::GuardrailVersion"):
        p = _render(version["Properties"])
        lines.append(
            f"- Published version {t.path(stack, logical_id)} of {_code(p['GuardrailIdentifier'])}"
        )
    if len(lines) == 2:
        lines.append("None.")
    return [*lines, ""]


def _functions(t: _Templates) -> list[str]:
    lines = ["## Lambda functions", ""]
    for stack, logical_id, function in t.resources("AWS::Lambda::Function"):
        p = function["Properties"]
        variables = sorted(p.get("Environment", {}).get("Variables", {}))
        lines.append(
            f"- {t.path(stack, logical_id)}: {p.get('Runtime')} "
            f"{','.join(p.get('Architectures', ['x86_64']))}, "
            f"in VPC {'VpcConfig' in p}, reserved concurrency {p.get('ReservedConcurrentExecutions', '-')}, "
            f"environment variable names: {', '.join(variables) or '-'}"
        )
    return [*lines, ""]


def _acknowledgments(acknowledged: dict[str, dict[str, str]]) -> list[str]:
    lines = [
        "## cdk-nag acknowledgments",
        "",
        "Every finding below is acknowledged on one construct with its reason; any other finding fails synthesis.",
        "",
    ]
    for pack in PACKS:
        lines += [f"### {pack}", ""]
        for path, rules in sorted(acknowledged.items()):
            for rule_id, reason in sorted(rules.items()):
                if rule_id.startswith(pack + "::"):
                    lines.append(f"- `{rule_id.split('::', 1)[1]}` on {path}: {reason}")
        lines.append("")
    return lines


def build_report(env_name: str = "dev") -> str:
    """Synthesize `env_name` in-process and render the reviewer's report."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App, Validations

    from app import GATEWAY_SOURCE
    from stacks.config import load_config
    from stacks.kit import compose

    config_path = ROOT / "config" / f"{env_name}.toml"
    config = load_config(config_path, env_name)
    # Path metadata lets the report name constructs instead of hashed logical ids.
    # The project's feature flags (cdk.json), as the CDK CLI passes them to app.py.
    flags = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    app = App(context={**flags, "aws:cdk:enable-path-metadata": True})
    stacks = compose(app, config, gateway_source=GATEWAY_SOURCE)
    acknowledged: dict[str, dict[str, str]] = {}
    for stack in stacks.all():
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    ours = {
                        k: v
                        for k, v in entry.data.items()
                        if k.split("::")[0] in ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
                    }
                    if ours:
                        acknowledged.setdefault(construct.node.path, {}).update(ours)
    assembly = app.synth()
    templates = _Templates({stack.stack_name: stack.template for stack in assembly.stacks})
    roles = sum(1 for _ in templates.resources("AWS::IAM::Role"))
    header = [
        "# Security report",
        "",
        f"Generated by `make security-report` from `config/{env_name}.toml`; do not edit by hand "
        "(a test fails when it is stale). Values in `${...}` are CloudFormation references "
        "resolved at deploy time.",
        "",
        f"Stacks: {', '.join(sorted(templates.templates))}. Roles: {roles}. "
        f"Acknowledged cdk-nag findings: {sum(len(r) for r in acknowledged.values())}.",
        "",
        "See also [threat-model.md](threat-model.md).",
        "",
    ]
    body = header + _roles(templates) + _endpoints_and_network(templates) + _api(templates)
    body += _encryption(templates) + _knowledge_bases(templates) + _guardrails(templates)
    body += _functions(templates)
    body += _acknowledgments(acknowledged)
    return "\n".join(body).rstrip() + "\n"


def main() -> int:
    """Write docs/security/report-<env>.md for each shipped environment."""
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    for env_name in ENVIRONMENTS:
        path = report_path(env_name)
        path.write_text(build_report(env_name), encoding="utf-8")
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Teams' infrastructure: keys and usage tables, the key authorizer, gateway grants, endpoint.

Environment tests read dev and prod as synthesized (three nag packs); variants are tested on
the constructs alone in a bare stack.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template

from local.cfn import render
from local.keys import OUTPUT_PREFIX
from stacks.components.invocation_api import ACCESS_LOG_FIELDS
from stacks.components.key_authorizer import AUTHORIZER_PACKAGE, KeyAuthorizer
from stacks.components.kit_network import KitNetwork
from stacks.components.team_tables import KEYS_TABLE_OUTPUT, TeamTables
from tests.infra.cfn import as_list
from tests.infra.conftest import Synthesized, project_app

HANDLER = f"{AUTHORIZER_PACKAGE}.handler.handler"
EXPECTED_ANSWERS = {
    "UNAUTHORIZED": ("401", "invalid_api_key"),
    "ACCESS_DENIED": ("403", "api_key_revoked"),
    "INVALID_API_KEY": ("403", "invalid_api_key"),
    "QUOTA_EXCEEDED": ("429", "request_quota_exceeded"),
    "THROTTLED": ("429", "rate_limit_exceeded"),
    "DEFAULT_4XX": (None, "BAD_REQUEST_BODY"),
    "DEFAULT_5XX": (None, "BAD_REQUEST_BODY"),
}
# What API Gateway substitutes into a gateway response template, for the test.
SAMPLE_CONTEXT = {
    "$context.error.messageString": '"Invalid request body"',
    "$context.error.responseType": "BAD_REQUEST_BODY",
    "$context.authorizer.reason": "revoked",
}


def tables(env: Synthesized) -> Mapping[str, Mapping[str, Any]]:
    """The Stateful stack's DynamoDB tables by logical id."""
    return env.stateful.find_resources("AWS::DynamoDB::Table")


def table_id(env: Synthesized, prefix: str) -> str:
    (logical_id,) = [i for i in tables(env) if i.startswith(prefix)]
    return logical_id


def imported_arn(env: Synthesized, prefix: str) -> str:
    """How another stack's policy renders a Stateful table's Arn attribute."""
    return f"GetAtt{table_id(env, prefix)}Arn"


def role_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement of every identity policy attached to the role whose id starts so."""
    found = []
    for resource in template.to_json()["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        roles = [str(render(r)) for r in as_list(resource["Properties"].get("Roles", []))]
        if any(r.startswith("${" + role_prefix) for r in roles):
            found += as_list(render(resource["Properties"]["PolicyDocument"])["Statement"])
    assert found, role_prefix
    return found


def actions_of(statements: list[dict[str, Any]], service: str) -> Iterator[tuple[str, Any]]:
    for statement in statements:
        for action in as_list(statement["Action"]):
            if action.startswith(f"{service}:"):
                yield action, statement


# --- tables -----------------------------------------------------------------------------


def test_keys_table_is_keyed_by_key_id_and_always_retained(env: Synthesized) -> None:
    keys = tables(env)[table_id(env, "TeamTablesKeysTable")]
    properties = keys["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "key_id", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "key_id", "AttributeType": "S"}]
    assert "TimeToLiveSpecification" not in properties  # keys expire by their record, not TTL
    # Dev included: deleting a stack must not revoke every key at once.
    assert keys["DeletionPolicy"] == "Retain"


def test_usage_table_counts_per_team_and_month_and_expires_old_months(env: Synthesized) -> None:
    usage = tables(env)[table_id(env, "TeamTablesUsageTable")]
    properties = usage["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "team", "KeyType": "HASH"},
        {"AttributeName": "period", "KeyType": "RANGE"},
    ]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    retained = env.config.observability.retain_logs
    assert usage["DeletionPolicy"] == ("Retain" if retained else "Delete")


def test_tables_are_on_demand_encrypted_with_the_kits_key_and_recoverable(
    env: Synthesized,
) -> None:
    (key_id,) = [k for k in env.stateful.find_resources("AWS::KMS::Key") if "TeamTables" in k]
    key = env.stateful.find_resources("AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"  # the retained keys table stays readable
    production = env.config.deployment.production
    assert len(tables(env)) == 2
    for table in tables(env).values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"] == {
            "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "SSEEnabled": True,
            "SSEType": "KMS",
        }
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["DeletionProtectionEnabled"] is production


def test_keys_table_output_is_what_make_keys_looks_for(env: Synthesized) -> None:
    assert KEYS_TABLE_OUTPUT == OUTPUT_PREFIX
    outputs = env.stateful.to_json()["Outputs"]
    found = [o for name, o in outputs.items() if name.startswith(OUTPUT_PREFIX)]
    assert [o["Value"] for o in found] == [{"Ref": table_id(env, "TeamTablesKeysTable")}]


# --- API keys and the authorizer --------------------------------------------------------


def test_usage_plan_keys_stand_alone_and_nothing_tells_clients_to_fetch_them(
    env: Synthesized,
) -> None:
    keys = env.service.find_resources("AWS::ApiGateway::ApiKey")
    assert len(keys) == len(env.config.api.teams)
    for key in keys.values():
        # API Gateway generates the value; no stage of its own (its usage plan is on the stage).
        assert "Value" not in key["Properties"]
        assert "StageKeys" not in key["Properties"]
    env.service.resource_count_is("AWS::ApiGateway::UsagePlanKey", len(keys))
    text = json.dumps(env.service.to_json().get("Outputs", {}))
    assert "ApiKeyId" not in text and "get-api-key" not in text


def authorizer_environment(env: Synthesized) -> dict[str, Any]:
    functions = env.service.find_resources("AWS::Lambda::Function").values()
    (authorizer,) = [f for f in functions if f["Properties"]["Handler"] == HANDLER]
    variables: dict[str, Any] = authorizer["Properties"]["Environment"]["Variables"]
    return variables


def test_authorizer_environment_names_the_keys_table_and_team_key_ids_only(
    env: Synthesized,
) -> None:
    variables = authorizer_environment(env)
    assert set(variables) == {"KEYS_TABLE_NAME", "TEAM_USAGE_KEY_IDS"}
    assert f"Ref{table_id(env, 'TeamTablesKeysTable')}" in render(variables["KEYS_TABLE_NAME"])
    key_ids = json.loads(str(render(variables["TEAM_USAGE_KEY_IDS"])))
    key_resources = env.service.find_resources("AWS::ApiGateway::ApiKey")
    assert set(key_ids) == {team.name for team in env.config.api.teams}
    # Each value is a reference to a key's id (Ref), never a key value.
    assert sorted(key_ids.values()) == sorted("${" + k + "}" for k in key_resources)


def test_authorizer_reads_one_key_record_and_only_its_teams_usage_plan_keys(
    env: Synthesized,
) -> None:
    statements = role_statements(env.service, "KeyAuthorizerRole")
    dynamodb = list(actions_of(statements, "dynamodb"))
    assert [action for action, _ in dynamodb] == ["dynamodb:GetItem"]
    (resource,) = as_list(dynamodb[0][1]["Resource"])
    assert imported_arn(env, "TeamTablesKeysTable") in resource
    apigateway = list(actions_of(statements, "apigateway"))
    assert [action for action, _ in apigateway] == ["apigateway:GET"]
    key_arns = sorted(as_list(apigateway[0][1]["Resource"]))
    keys = env.service.find_resources("AWS::ApiGateway::ApiKey")
    assert key_arns == sorted(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/${" + k + "}" for k in keys
    )
    kms = list(actions_of(statements, "kms"))
    assert [action for action, _ in kms] == ["kms:Decrypt"]
    assert kms[0][1]["Condition"]["StringEquals"]["kms:ViaService"].startswith("dynamodb.")
    services = {a.split(":")[0] for s in statements for a in as_list(s["Action"])}
    assert services == {"logs", "dynamodb", "apigateway", "kms"}


def test_authorizer_cache_lets_a_revoked_key_pass_at_most_a_minute(env: Synthesized) -> None:
    (authorizer,) = env.service.find_resources("AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == 60


def test_each_team_gets_one_usage_plan_key_that_only_the_authorizer_reads() -> None:
    stack = Stack(project_app(), "Bare")
    tables = TeamTables(stack, "Tables", removal_policy=RemovalPolicy.DESTROY, production=False)
    authorizer = KeyAuthorizer(
        stack,
        "Authorizer",
        log_group=logs.LogGroup(stack, "Logs"),
        reserved_concurrency=0,
        tables=tables,
        teams=["search", "chatbot"],
    )
    apigw.RestApi(stack, "Api").root.add_method(
        "GET", apigw.MockIntegration(), authorizer=authorizer.authorizer
    )
    template = Template.from_stack(stack)
    keys = template.find_resources("AWS::ApiGateway::ApiKey")
    assert sorted(k["Properties"]["Description"] for k in keys.values()) == [
        "Usage-plan key of team chatbot",
        "Usage-plan key of team search",
    ]
    # No stage on the key itself (its plan is on the stage), and no value in the template.
    assert all("StageKeys" not in k["Properties"] for k in keys.values())
    assert all("Value" not in k["Properties"] for k in keys.values())
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    ids = render(function["Properties"]["Environment"]["Variables"]["TEAM_USAGE_KEY_IDS"])
    for logical_id in keys:
        assert f"${{{logical_id}}}" in ids


def test_the_authorizer_asset_imports_its_handler_as_lambda_does(env: Synthesized) -> None:
    functions = env.service.find_resources("AWS::Lambda::Function")
    (authorizer,) = [f for f in functions.values() if f["Properties"]["Handler"] == HANDLER]
    # The code's S3 key is the asset's hash; the cloud assembly keeps it as asset.<hash>/.
    key = authorizer["Properties"]["Code"]["S3Key"]
    asset = env.outdir / f"asset.{key.removesuffix('.zip')}"
    shipped = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert shipped == [
        "authorizer/__init__.py",
        "authorizer/handler.py",
        "authorizer/keys.py",
    ]
    module, _, function = HANDLER.rpartition(".")
    # Lambda's Python runtime: the asset's root on the path, the handler's module imported
    # (-B: nothing written into the assembly).
    probe = f"import importlib; assert callable(importlib.import_module({module!r}).{function})"
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", f"import sys; sys.path.insert(0, '.'); {probe}"],
        cwd=asset,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- gateway --------------------------------------------------------------------------


def test_gateway_counts_usage_with_item_reads_and_updates_on_the_usage_table_only(
    env: Synthesized,
) -> None:
    statements = role_statements(env.service, "GatewayRole")
    dynamodb = list(actions_of(statements, "dynamodb"))
    assert sorted(action for action, _ in dynamodb) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    for _, statement in dynamodb:
        (resource,) = as_list(statement["Resource"])
        assert imported_arn(env, "TeamTablesUsageTable") in resource
    kms = [s for _, s in actions_of(statements, "kms")]
    assert kms and all(s["Condition"]["StringEquals"]["kms:ViaService"] for s in kms)
    functions = [
        f["Properties"]
        for f in env.service.find_resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] != HANDLER and "VpcConfig" in f["Properties"]
    ]
    assert len(functions) == 2
    for function in functions:
        variables = function["Environment"]["Variables"]
        table = render(variables["GATEWAY_USAGE_TABLE"])
        assert f"Ref{table_id(env, 'TeamTablesUsageTable')}" in table
        # Behind the key authorizer a request without its team is refused, never served.
        assert variables["GATEWAY_REQUIRE_TEAM"] == "true"


# --- network ----------------------------------------------------------------------------


def dynamodb_endpoints(template: Template) -> list[dict[str, Any]]:
    return [
        e["Properties"]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith(".dynamodb")
    ]


def test_gateway_reaches_dynamodb_through_a_gateway_endpoint_for_usage_counting_only(
    env: Synthesized,
) -> None:
    (endpoint,) = dynamodb_endpoints(env.network)
    assert endpoint["VpcEndpointType"] == "Gateway"
    route_tables = env.network.find_resources("AWS::EC2::RouteTable")
    assert sorted(r["Ref"] for r in endpoint["RouteTableIds"]) == sorted(route_tables)
    (statement,) = render(endpoint["PolicyDocument"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": "*"}
    assert sorted(as_list(statement["Action"])) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    (resource,) = as_list(statement["Resource"])
    assert imported_arn(env, "TeamTablesUsageTable") in resource
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "${AWS::AccountId}"}}


def test_gateway_security_group_allows_https_to_dynamodbs_prefix_list_only(
    env: Synthesized,
) -> None:
    groups = env.network.find_resources("AWS::EC2::SecurityGroup")
    (gateway_group,) = [
        g
        for g, v in groups.items()
        if v["Properties"]["GroupDescription"] == "Bedrock gateway functions"
    ]
    egress = [
        r["Properties"]
        for r in env.network.find_resources("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [gateway_group, "GroupId"]}
    ]
    (rule,) = egress
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    (lookup_id,) = env.network.find_resources("Custom::AWS")
    assert rule["DestinationPrefixListId"] == {
        "Fn::GetAtt": [lookup_id, "PrefixLists.0.PrefixListId"]
    }
    lookup = env.network.find_resources("Custom::AWS")[lookup_id]
    call = json.loads(str(render(lookup["Properties"]["Create"])))
    assert call["action"] == "describeManagedPrefixLists"
    assert call["parameters"]["Filters"] == [
        {"Name": "prefix-list-name", "Values": ["com.amazonaws.${AWS::Region}.dynamodb"]}
    ]


def existing_network_alone(route_table_ids: tuple[str, ...] = ()) -> Stack:
    """KitNetwork in an existing VPC, in a bare stack, with the usage table's endpoint policy."""
    stack = Stack(project_app(), "Bare")
    team_tables = TeamTables(
        stack, "Tables", removal_policy=RemovalPolicy.DESTROY, production=False
    )
    KitNetwork(
        stack,
        "Network",
        vpc_cidr="10.20.0.0/16",
        availability_zones=("us-east-1a", "us-east-1b"),
        existing_vpc_id="vpc-0abc12345678def01",
        existing_subnet_ids=("subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"),
        existing_route_table_ids=route_table_ids,
        flow_log_group=logs.LogGroup(stack, "Flow"),
        runtime_endpoint_statements=[
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()], actions=["bedrock:InvokeModel"], resources=["x"]
            )
        ],
        usage_endpoint_statements=team_tables.usage_endpoint_statements(),
        log_key=team_tables.key,
    )
    return stack


def test_existing_vpc_gets_the_dynamodb_endpoint_on_the_route_tables_given() -> None:
    template = Template.from_stack(existing_network_alone(("rtb-0aaa1111", "rtb-0bbb2222")))
    (endpoint,) = dynamodb_endpoints(template)
    assert sorted(endpoint["RouteTableIds"]) == ["rtb-0aaa1111", "rtb-0bbb2222"]


def test_existing_vpc_without_route_tables_keeps_its_own_route_and_warns() -> None:
    stack = existing_network_alone()
    template = Template.from_stack(stack)
    assert dynamodb_endpoints(template) == []
    # The functions still need HTTPS to DynamoDB's addresses, whichever route the VPC has.
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupEgress", {"DestinationPrefixListId": Match.any_value()}
    )
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("DynamoDB"))


# --- the API's own answers and its access log ---------------------------------------------


def test_gateway_responses_are_openai_shaped_json_once_substituted(env: Synthesized) -> None:
    answers = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in env.service.find_resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(answers) == set(EXPECTED_ANSWERS)
    for response_type, (status, code) in EXPECTED_ANSWERS.items():
        answer = answers[response_type]
        assert answer.get("StatusCode") == status, response_type
        assert answer["ResponseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/json'"
        }
        template = answer["ResponseTemplates"]["application/json"]
        assert "$util" not in template  # gateway response templates are not VTL
        body = template
        for variable, value in SAMPLE_CONTEXT.items():
            body = body.replace(variable, value)
        assert "$" not in body, (response_type, body)
        error = json.loads(body)["error"]
        assert set(error) == {"message", "type", "param", "code"}, response_type
        assert error["param"] is None and error["code"] == code, response_type
        assert isinstance(error["message"], str) and error["message"], response_type
    assert (
        "make keys create"
        in json.loads(answers["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])["error"][
            "message"
        ]
    )


def test_access_log_names_the_team_and_key_id_never_a_key_value(env: Synthesized) -> None:
    (stage,) = env.service.find_resources("AWS::ApiGateway::Stage").values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    fields = json.loads(log_format)
    assert fields == ACCESS_LOG_FIELDS
    assert fields["team"] == "$context.authorizer.team"
    assert fields["keyId"] == "$context.authorizer.key_id"
    # The key id variable ($context.identity.apiKeyId) is fine; the value never.
    assert not re.search(r"\$context\.identity\.apiKey(?!Id)", log_format)


# --- grants on a bare stack --------------------------------------------------------------


def test_team_tables_grants_name_exact_actions_on_one_table_each() -> None:
    stack = Stack(project_app(), "Bare")
    team_tables = TeamTables(stack, "Tables", removal_policy=RemovalPolicy.DESTROY, production=True)
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    counter = iam.Role(stack, "Counter", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    team_tables.grant_key_lookup(reader)
    team_tables.grant_usage_counting(counter)
    template = Template.from_stack(stack)
    read = role_statements(template, "Reader")
    count = role_statements(template, "Counter")
    assert [(s["Action"], s["Resource"]) for s in read if "dynamodb" in str(s["Action"])] == [
        ("dynamodb:GetItem", "${TablesKeysTable" + table_suffix(template, "KeysTable") + ".Arn}")
    ]
    usage_arn = "${TablesUsageTable" + table_suffix(template, "UsageTable") + ".Arn}"
    assert [(s["Action"], s["Resource"]) for s in count if "dynamodb" in str(s["Action"])] == [
        (["dynamodb:GetItem", "dynamodb:UpdateItem"], usage_arn)
    ]
    for table in template.find_resources("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True


def table_suffix(template: Template, name: str) -> str:
    (logical_id,) = [
        i for i in template.find_resources("AWS::DynamoDB::Table") if i.startswith(f"Tables{name}")
    ]
    return logical_id.removeprefix(f"Tables{name}")

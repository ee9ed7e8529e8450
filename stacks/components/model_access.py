"""Bedrock invoke permissions derived from the model catalog: exactly the enabled models' ARNs.

Cross-region profiles follow AWS's documented form: the profile ARN in the source region, and
the foundation model in each destination region only through that profile
(`bedrock:InferenceProfileArn`); global profiles add the region-less model ARN, only for
`aws:RequestedRegion = unspecified`. Destinations are the geography's complete list
(`model_catalog.geographies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Token
from aws_cdk import aws_iam as iam

from lambdas.gateway.catalog import Geography, ModelSpec
from model_catalog.geographies import DESTINATIONS

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


@dataclass(frozen=True, slots=True)
class ModelArns:
    """The ARNs one deployment may invoke, grouped by the condition each group needs."""

    # Foundation models called directly in the deployment region.
    direct_models: tuple[str, ...]
    # System-defined inference profiles in the deployment region.
    profiles: tuple[str, ...]
    # Per profile (same order as `profiles`): the foundation models it routes to, reachable
    # only through that profile.
    routes: tuple[tuple[str, ...], ...]
    # Region-less foundation-model ARNs that `global.` profiles route to.
    global_models: tuple[str, ...]

    @property
    def routed_models(self) -> tuple[str, ...]:
        """Every foundation model some enabled profile routes to."""
        return tuple(arn for route in self.routes for arn in route)


def foundation_model_arn(model_id: str, region: str, partition: str = Aws.PARTITION) -> str:
    """Return the ARN of a foundation model in `region` ('' for the region-less global ARN)."""
    return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(
    profile_id: str,
    *,
    region: str = Aws.REGION,
    account: str = Aws.ACCOUNT_ID,
    partition: str = Aws.PARTITION,
) -> str:
    """Return the ARN of a system-defined inference profile in the source region."""
    return f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}"


def model_arns(
    specs: Sequence[ModelSpec], geography: Geography | None, *, region: str = Aws.REGION
) -> ModelArns:
    """Derive the ARNs for `specs` the way the gateway calls them under `geography`."""
    direct: list[str] = []
    profiles: list[str] = []
    routes: list[tuple[str, ...]] = []
    global_models: list[str] = []
    for spec in specs:
        if geography is None or geography not in spec.profile_geographies:
            direct.append(foundation_model_arn(spec.model_id, region))
            continue
        profiles.append(inference_profile_arn(spec.profile_id(geography), region=region))
        # The source region serves profile calls too; list it once when it is known at synth.
        destinations = [region, *DESTINATIONS[geography]]
        if not Token.is_unresolved(region):
            destinations = list(dict.fromkeys(destinations))
        routes.append(tuple(foundation_model_arn(spec.model_id, r) for r in destinations))
        if geography is Geography.GLOBAL:
            global_models.append(foundation_model_arn(spec.model_id, ""))
    return ModelArns(tuple(direct), tuple(profiles), tuple(routes), tuple(global_models))


def invoke_statements(
    arns: ModelArns, *, principal: iam.IPrincipal | None = None
) -> list[iam.PolicyStatement]:
    """Return least-privilege statements allowing InvokeModel* on exactly `arns`.

    With `principal` the statements suit a resource policy (e.g. a VPC endpoint policy).
    """
    actions = list(INVOKE_ACTIONS)
    principals = [principal] if principal is not None else None
    statements: list[iam.PolicyStatement] = []
    if arns.direct_models:
        statements.append(
            iam.PolicyStatement(
                principals=principals,
                sid="InvokeEnabledModels",
                actions=actions,
                resources=list(arns.direct_models),
            )
        )
    if arns.profiles:
        statements.append(
            iam.PolicyStatement(
                principals=principals,
                sid="InvokeEnabledInferenceProfiles",
                actions=actions,
                resources=list(arns.profiles),
            )
        )
        # Destination-region models only through their own profile, never called directly.
        # One statement per profile keeps each statement small enough for IAM's policy size
        # limits however many regions a geography lists (and states the pairing exactly).
        statements.extend(
            iam.PolicyStatement(
                principals=principals,
                sid=f"InvokeModelsThroughProfile{index}",
                actions=actions,
                resources=list(route),
                conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
            )
            for index, (profile, route) in enumerate(zip(arns.profiles, arns.routes, strict=True))
        )
    if arns.global_models:
        statements.append(
            iam.PolicyStatement(
                principals=principals,
                sid="InvokeModelsThroughGlobalProfiles",
                actions=actions,
                resources=list(arns.global_models),
                conditions={
                    "StringEquals": {
                        "bedrock:InferenceProfileArn": list(arns.profiles),
                        "aws:RequestedRegion": "unspecified",
                    }
                },
            )
        )
    return statements


def account_scoped(statement: iam.PolicyStatement) -> iam.PolicyStatement:
    """Limit a resource-policy statement to principals of this account (data perimeter)."""
    statement.add_condition("StringEquals", {"aws:PrincipalAccount": Aws.ACCOUNT_ID})
    return statement


@dataclass(frozen=True, slots=True)
class ModelAccess:
    """Invoke access to exactly the enabled models, grantable to functions and endpoints."""

    arns: ModelArns

    @classmethod
    def of(
        cls, specs: Sequence[ModelSpec], geography: Geography | None, *, region: str = Aws.REGION
    ) -> ModelAccess:
        """Access to `specs` as the gateway calls them under `geography`."""
        return cls(model_arns(specs, geography, region=region))

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Allow `grantee` to invoke (and stream from) exactly the enabled models."""
        for statement in invoke_statements(self.arns):
            grantee.grant_principal.add_to_principal_policy(statement)

    def endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The same access as a VPC endpoint policy, for this account's principals only."""
        return [
            account_scoped(statement)
            for statement in invoke_statements(self.arns, principal=iam.AnyPrincipal())
        ]

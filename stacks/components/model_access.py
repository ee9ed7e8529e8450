"""Bedrock invoke permissions derived from the model catalog: exactly the enabled models' ARNs.

Cross-region profiles follow AWS's documented form: the profile ARN in the source region, and
the foundation model in each destination region only through that profile
(`bedrock:InferenceProfileArn`); global profiles add the region-less model ARN, only for
`aws:RequestedRegion = unspecified`. Destinations are the geography's complete list
(`model_catalog.geographies`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from aws_cdk import Aws, Token
from aws_cdk import aws_iam as iam

from lambdas.gateway.catalog import Api, Geography, ModelSpec
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
    # The model id of each direct model and each profile (same orders as the ARNs), and of
    # each global model.
    direct_model_ids: tuple[str, ...] = ()
    profile_models: tuple[str, ...] = ()
    global_model_ids: tuple[str, ...] = ()
    # Application inference profiles (teams' cost lines): model id -> their ARNs. A call
    # through one reaches the model as a call through its copied profile does.
    application_profiles: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Own models on SageMaker endpoints: the endpoints' ARNs.
    sagemaker_endpoints: tuple[str, ...] = ()

    @property
    def application_profile_arns(self) -> tuple[str, ...]:
        """Every application inference profile, in model order."""
        return tuple(arn for arns in self.application_profiles.values() for arn in arns)

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
    direct_ids: list[str] = []
    profiles: list[str] = []
    profile_models: list[str] = []
    routes: list[tuple[str, ...]] = []
    global_models: list[str] = []
    endpoints: list[str] = []
    for spec in specs:
        if spec.invocation is not None and spec.api is Api.SAGEMAKER:
            endpoints.extend(sagemaker_endpoint_arns(spec.invocation, region))
            continue
        if spec.invocation is not None:
            # An own model on Bedrock: its imported-model, provisioned-model or deployment ARN.
            direct.append(spec.invocation)
            direct_ids.append(spec.model_id)
            continue
        if geography is None or geography not in spec.profile_geographies:
            direct.append(foundation_model_arn(spec.model_id, region))
            direct_ids.append(spec.model_id)
            continue
        profiles.append(inference_profile_arn(spec.profile_id(geography), region=region))
        profile_models.append(spec.model_id)
        # The source region serves profile calls too; list it once when it is known at synth.
        destinations = [region, *DESTINATIONS[geography]]
        if not Token.is_unresolved(region):
            destinations = list(dict.fromkeys(destinations))
        routes.append(tuple(foundation_model_arn(spec.model_id, r) for r in destinations))
        if geography is Geography.GLOBAL:
            global_models.append(foundation_model_arn(spec.model_id, ""))
    return ModelArns(
        tuple(direct),
        tuple(profiles),
        tuple(routes),
        tuple(global_models),
        direct_model_ids=tuple(direct_ids),
        profile_models=tuple(profile_models),
        global_model_ids=tuple(profile_models) if geography is Geography.GLOBAL else (),
        sagemaker_endpoints=tuple(endpoints),
    )


def sagemaker_endpoint_arns(name: str, region: str = Aws.REGION) -> list[str]:
    """The ARN of a SageMaker endpoint, as named and in lower case (SageMaker's ARNs)."""
    names = dict.fromkeys([name, name.lower()])
    return [f"arn:{Aws.PARTITION}:sagemaker:{region}:{Aws.ACCOUNT_ID}:endpoint/{n}" for n in names]


def sagemaker_statements(arns: ModelArns) -> list[iam.PolicyStatement]:
    """InvokeEndpoint on exactly the own models' endpoints (it also authorizes streaming)."""
    if not arns.sagemaker_endpoints:
        return []
    return [
        iam.PolicyStatement(
            sid="InvokeOwnModelEndpoints",
            actions=["sagemaker:InvokeEndpoint"],
            resources=list(arns.sagemaker_endpoints),
        )
    ]


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
        # Destination-region models only through their own profile (or an application profile
        # copied from it), never called directly. One statement per profile keeps each
        # statement small enough for IAM's policy size limits however many regions a geography
        # lists (and states the pairing exactly).
        statements.extend(
            iam.PolicyStatement(
                principals=principals,
                sid=f"InvokeModelsThroughProfile{index}",
                actions=actions,
                resources=list(route),
                conditions={
                    "StringEquals": {
                        "bedrock:InferenceProfileArn": _through(
                            profile, arns.application_profiles.get(model_id, ())
                        )
                    }
                },
            )
            for index, (profile, route, model_id) in enumerate(
                zip(arns.profiles, arns.routes, arns.profile_models, strict=True)
            )
        )
    if arns.global_models:
        applications = [
            a for m in arns.global_model_ids for a in arns.application_profiles.get(m, ())
        ]
        statements.append(
            iam.PolicyStatement(
                principals=principals,
                sid="InvokeModelsThroughGlobalProfiles",
                actions=actions,
                resources=list(arns.global_models),
                conditions={
                    "StringEquals": {
                        "bedrock:InferenceProfileArn": [*arns.profiles, *applications],
                        "aws:RequestedRegion": "unspecified",
                    }
                },
            )
        )
    if arns.application_profile_arns:
        # The teams' application inference profiles themselves. A model in the region is
        # reached through one as it is directly (InvokeEnabledModels, no condition); a routed
        # model only through its profiles (above), the application ones included: AWS asks for
        # the profile and "the foundation model in each Region associated with it"
        # (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
        statements.append(
            iam.PolicyStatement(
                principals=principals,
                sid="InvokeTeamInferenceProfiles",
                actions=actions,
                resources=list(arns.application_profile_arns),
            )
        )
    return statements


def _through(profile: str, applications: Sequence[str]) -> str | list[str]:
    """The condition's value: the profile ARN alone, or with its application profiles."""
    return [profile, *applications] if applications else profile


def account_scoped(statement: iam.PolicyStatement) -> iam.PolicyStatement:
    """Limit a resource-policy statement to principals of this account (data perimeter)."""
    statement.add_condition("StringEquals", {"aws:PrincipalAccount": Aws.ACCOUNT_ID})
    return statement


def for_endpoint(statement: iam.PolicyStatement) -> iam.PolicyStatement:
    """A role's statement as a VPC endpoint policy's: the same access, for this account only."""
    return account_scoped(
        iam.PolicyStatement(
            sid=statement.sid,
            principals=[iam.AnyPrincipal()],
            actions=statement.actions,
            resources=statement.resources,
        )
    )


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

    def with_application_profiles(self, arns: Mapping[str, Sequence[str]]) -> ModelAccess:
        """The same access, also through these application inference profiles (by model id)."""
        unknown = set(arns) - set(self.arns.profile_models) - set(self.arns.direct_model_ids)
        if unknown:
            raise ValueError(f"application profiles of models not enabled: {sorted(unknown)}")
        profiles = MappingProxyType({model: tuple(values) for model, values in arns.items()})
        return ModelAccess(dataclasses.replace(self.arns, application_profiles=profiles))

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Allow `grantee` to invoke (and stream from) exactly the enabled models."""
        for statement in [*invoke_statements(self.arns), *sagemaker_statements(self.arns)]:
            grantee.grant_principal.add_to_principal_policy(statement)

    def sagemaker_endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The sagemaker.runtime endpoint's policy: the own models' endpoints, this account."""
        return [for_endpoint(statement) for statement in sagemaker_statements(self.arns)]

    def endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The same access as a VPC endpoint policy, for this account's principals only."""
        return [
            account_scoped(statement)
            for statement in invoke_statements(self.arns, principal=iam.AnyPrincipal())
        ]

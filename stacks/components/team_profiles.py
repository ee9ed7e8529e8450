"""One Bedrock application inference profile per team and model: each team's spend, tagged.

A call made through an application inference profile is billed with the profile's tags, so
each team's Bedrock spend is its own line in Cost Explorer once the tags are activated as
cost-allocation tags ("Cost allocation with application inference profiles",
https://docs.aws.amazon.com/bedrock/latest/userguide/cost-mgmt-application-inference-profiles.html).

Resource (AWS::Bedrock::ApplicationInferenceProfile,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-bedrock-applicationinferenceprofile.html):
`InferenceProfileName` is required, 1-64 characters of `^([0-9a-zA-Z][ _-]?)+$`; `Description`
1-200 characters of `^([0-9a-zA-Z:.][ _-]?)+$`; both, and `ModelSource`, require replacement
when they change; `Ref` returns the profile id; `Fn::GetAtt` offers `InferenceProfileId` and
`InferenceProfileArn`. `ModelSource.CopyFrom` is "The ARN of the model or system-defined
inference profile that is the source for the inference profile", pattern
`...:bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|foundation-model)/...`
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-bedrock-applicationinferenceprofile-inferenceprofilemodelsource.html):
a foundation model for one region, a cross-region (system-defined) profile for several
(https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-create.html).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws, CfnTag, Stack, Token
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from lambdas.gateway.catalog import Geography
from stacks.components.model_access import foundation_model_arn, inference_profile_arn

# Lambda allows 4 KB for all of a function's environment variables together; this one
# variable may take most of it, not all.
MAX_PROFILES_JSON_BYTES = 3_000
# Worst cases of the resolved ARN prefix and ids, from the Bedrock API reference
# (InferenceProfileSummary: inferenceProfileArn pattern
# `arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):...`,
# inferenceProfileId "Maximum length of 64";
# https://docs.aws.amazon.com/bedrock/latest/APIReference/API_InferenceProfileSummary.html).
_LONGEST_PARTITION = "aws-us-gov"
_LONGEST_REGION = "x" * 20
_ACCOUNT = "0" * 12
PROFILE_ID_MAX_LENGTH = 64
# CloudFormation's limits for the profile's name and description (module docstring).
NAME_MAX_LENGTH = 64
DESCRIPTION_MAX_LENGTH = 200
_HASH_LENGTH = 8
_NAME_PATTERN = re.compile(r"^([0-9a-zA-Z][ _-]?)+$")
_DESCRIPTION_PATTERN = re.compile(r"^([0-9a-zA-Z:.][ _-]?)+$")
TEAM_TAG = "bedrock-kit:team"
ENVIRONMENT_TAG = "bedrock-kit:environment"


@dataclass(frozen=True, slots=True)
class ProfileSource:
    """A model a team may call, and how the gateway calls it today."""

    model_id: str
    # What the gateway sends to Bedrock without a team profile: the base model id, or the
    # catalog's system-defined cross-region profile id for `geography`.
    invocation_id: str
    # The geography of that system-defined profile (the team profile then spans its regions);
    # None: the foundation model in the deployment region.
    geography: Geography | None

    @property
    def through_system_profile(self) -> bool:
        """Whether the team profile copies a system-defined (cross-region) profile."""
        return self.geography is not None

    def copy_from(self) -> str:
        """The ARN the application inference profile copies (`ModelSource.CopyFrom`)."""
        if self.through_system_profile:
            return inference_profile_arn(self.invocation_id)
        return foundation_model_arn(self.invocation_id, Aws.REGION)


@dataclass(frozen=True, slots=True)
class TeamProfileSet:
    """One team's cost-allocation tags and the models it gets a profile for."""

    team: str
    tags: Mapping[str, str]
    sources: tuple[ProfileSource, ...]


@dataclass(frozen=True, slots=True)
class _Profile:
    team: str
    source: ProfileSource
    resource: bedrock.CfnApplicationInferenceProfile


def _clean(text: str, allowed: str) -> str:
    """Replace characters outside `allowed` and collapse separator runs (CFN's patterns)."""
    text = re.sub(f"[^{allowed} _-]", "-", text)
    text = re.sub(r"([ _-])[ _-]+", r"\1", text)
    return text.lstrip(" _-")


def profile_name(env_name: str, team: str, source: ProfileSource) -> str:
    """A deterministic, unique name within CloudFormation's limits for a team's profile.

    The hash covers everything the profile copies: a changed source replaces the resource
    (CloudFormation: ModelSource "Update requires: Replacement"), and the replacement, created
    before the old one is deleted, needs a name of its own.
    """
    digest = hashlib.sha256(
        "\0".join(
            (
                env_name,
                team,
                source.model_id,
                source.invocation_id,
                str(source.through_system_profile),
            )
        ).encode()
    ).hexdigest()[:_HASH_LENGTH]
    stem = _clean(f"bedrock-kit-{env_name}-{team}", "0-9a-zA-Z")
    stem = stem[: NAME_MAX_LENGTH - _HASH_LENGTH - 1].rstrip(" _-")
    return f"{stem}-{digest}"


def profile_description(env_name: str, team: str, source: ProfileSource) -> str:
    """The profile's description: the environment, team and model, in CloudFormation's form."""
    text = f"Bedrock kit {env_name} team {team} model {source.model_id}"
    return _clean(text, "0-9a-zA-Z:.")[:DESCRIPTION_MAX_LENGTH]


class TeamInferenceProfiles(Construct):
    """Application inference profiles per team and model, their ids for the gateway, access."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        teams: Sequence[TeamProfileSet],
        max_json_bytes: int = MAX_PROFILES_JSON_BYTES,
    ) -> None:
        super().__init__(scope, construct_id)
        self._profiles: list[_Profile] = []
        names: set[str] = set()
        for team in teams:
            seen: set[str] = set()
            for source in team.sources:
                if source.model_id in seen:
                    raise ValueError(f"team {team.team!r}: model {source.model_id!r} listed twice")
                seen.add(source.model_id)
                name = profile_name(env_name, team.team, source)
                description = profile_description(env_name, team.team, source)
                if name in names or not _NAME_PATTERN.match(name):
                    raise ValueError(f"team {team.team!r}: cannot name a profile {name!r}")
                if not _DESCRIPTION_PATTERN.match(description):
                    raise ValueError(f"team {team.team!r}: bad description {description!r}")
                names.add(name)
                tags = {**team.tags, TEAM_TAG: team.team, ENVIRONMENT_TAG: env_name}
                resource = bedrock.CfnApplicationInferenceProfile(
                    self,
                    f"{team.team}-{source.model_id}",
                    inference_profile_name=name,
                    description=description,
                    model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                        copy_from=source.copy_from()
                    ),
                    tags=[CfnTag(key=k, value=v) for k, v in sorted(tags.items())],
                )
                self._profiles.append(_Profile(team.team, source, resource))
        size = self.estimated_json_bytes()
        if size > max_json_bytes:
            team_count = len({p.team for p in self._profiles})
            raise ValueError(
                f"{len(self._profiles)} team profiles ({team_count} teams) need about {size} "
                f"bytes of the gateway's environment (GATEWAY_TEAM_PROFILES), over "
                f"{max_json_bytes}: restrict the teams' `models` lists to what each team uses"
            )

    @property
    def profiles(self) -> tuple[bedrock.CfnApplicationInferenceProfile, ...]:
        """Every profile, in the order teams and models were given."""
        return tuple(p.resource for p in self._profiles)

    def _document(self, prefix: str, ids: Sequence[str]) -> dict[str, object]:
        teams: dict[str, dict[str, str]] = {}
        for profile, profile_id in zip(self._profiles, ids, strict=True):
            teams.setdefault(profile.team, {})[profile.source.model_id] = profile_id
        return {"prefix": prefix, "teams": teams}

    def profiles_json(self) -> str:
        """The gateway's GATEWAY_TEAM_PROFILES: the ARN prefix and each team's profile ids.

        `{"prefix": "arn:...:application-inference-profile/", "teams": {team: {model: id}}}`;
        an application profile's ARN is `arn:${Partition}:bedrock:${Region}:${Account}:
        application-inference-profile/<id>` (InferenceProfileSummary pattern, and "application
        inference profiles begin with application-inference-profile",
        https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
        The ids resolve in CloudFormation (GetAtt InferenceProfileId).
        """
        prefix = (
            f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
            "application-inference-profile/"
        )
        ids = [p.resource.attr_inference_profile_id for p in self._profiles]
        return Stack.of(self).to_json_string(self._document(prefix, ids))

    def estimated_json_bytes(self, id_length: int = PROFILE_ID_MAX_LENGTH) -> int:
        """The most bytes `profiles_json()` can take once resolved (ids at their longest)."""
        stack = Stack.of(self)
        region = _LONGEST_REGION if Token.is_unresolved(stack.region) else stack.region
        account = _ACCOUNT if Token.is_unresolved(stack.account) else stack.account
        prefix = (
            f"arn:{_LONGEST_PARTITION}:bedrock:{region}:{account}:application-inference-profile/"
        )
        document = self._document(prefix, ["x" * id_length] * len(self._profiles))
        return len(json.dumps(document, separators=(",", ":")).encode())

    def arns_by_model(self) -> dict[str, tuple[str, ...]]:
        """Every team's profile ARN per model id (ModelAccess.with_application_profiles)."""
        arns: dict[str, list[str]] = {}
        for profile in self._profiles:
            arns.setdefault(profile.source.model_id, []).append(
                profile.resource.attr_inference_profile_arn
            )
        return {model: tuple(values) for model, values in arns.items()}

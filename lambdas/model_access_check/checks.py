"""Checks, for each enabled model, that this account can call it, and names the fix when not.

Pure logic over an injected Bedrock control-plane client (`boto3.client("bedrock")`), shared by
the deploy-time custom resource and `make doctor`. Standard library and botocore only: the Lambda
asset holds this package alone and the runtime provides boto3.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

# Error codes that mean "these credentials are not valid at all": re-raised so the caller can
# say "cannot check" instead of reporting every model as broken.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    }
)
# Bedrock's answers for a model id it does not know in this region.
UNKNOWN_MODEL_CODES = frozenset({"ResourceNotFoundException", "ValidationException"})
MARKETPLACE_ACTIONS = "aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions"


class ProblemCode(StrEnum):
    """Why a model is not usable yet; stable strings for logs, tests and dashboards."""

    MODEL_UNKNOWN = "model_unknown"
    REGION_NOT_AVAILABLE = "region_not_available"
    NOT_AUTHORIZED = "not_authorized"
    MARKETPLACE_ACCESS_MISSING = "marketplace_access_missing"
    AGREEMENT_PENDING = "agreement_pending"
    AGREEMENT_ERROR = "agreement_error"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_NOT_ACCEPTED = "offer_not_accepted"
    ANTHROPIC_USE_CASE_MISSING = "anthropic_use_case_missing"
    ANTHROPIC_USE_CASE_UNKNOWN = "anthropic_use_case_unknown"
    LEGACY = "legacy"
    CHECK_FAILED = "check_failed"


NOT_SERVED_HERE = frozenset({ProblemCode.MODEL_UNKNOWN, ProblemCode.REGION_NOT_AVAILABLE})


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a model is not usable yet, and the sentence saying what to do about it."""

    code: ProblemCode
    fix: str


@dataclass(frozen=True, slots=True)
class ModelReport:
    """The pre-flight result of one model; `ok` is true exactly when there is no problem."""

    model_id: str
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    ok: bool = field(init=False)

    def __post_init__(self) -> None:
        # Derived, not passed in, so a report can never claim ok while listing problems.
        object.__setattr__(self, "ok", not self.problems)


def error_code(error: ClientError) -> str:
    """Return the AWS error code of a botocore ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


def _reraise_credential_errors(error: ClientError) -> None:
    if error_code(error) in CREDENTIAL_ERROR_CODES:
        raise error


def _check_failed(operation: str, error: ClientError) -> Problem:
    code = error_code(error)
    if code == "AccessDeniedException":
        fix = (
            f"the identity running the check may not call bedrock:{operation}: grant it "
            "(the kit's check role has it; for make doctor use a role that does)"
        )
    else:
        fix = f"Bedrock answered {code} to {operation}: retry; if it persists, check Bedrock"
    return Problem(ProblemCode.CHECK_FAILED, fix)


def _availability_problems(availability: Mapping[str, Any], region: str) -> list[Problem]:
    if availability.get("regionAvailability") == "NOT_AVAILABLE":
        # Nothing else matters for a model this region does not offer: the other fixes
        # (Marketplace, authorization) would only send the team the wrong way.
        return [
            Problem(
                ProblemCode.REGION_NOT_AVAILABLE,
                f"model not offered in {region}: pick another region or remove it from "
                "models.enabled",
            )
        ]
    problems: list[Problem] = []
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        problems.append(
            Problem(
                ProblemCode.NOT_AUTHORIZED,
                "the account is not authorized for this model: the deploying role lacks "
                "bedrock permissions for it, or an SCP or IAM deny blocks it; ask the "
                "account's administrators to allow it",
            )
        )
    agreement = availability.get("agreementAvailability") or {}
    status = agreement.get("status")
    if status == "PENDING":
        # A pending subscription explains a missing entitlement: one problem, the one to act on.
        problems.append(
            Problem(
                ProblemCode.AGREEMENT_PENDING,
                "Marketplace subscription in progress: retry in up to 15 minutes",
            )
        )
    elif status == "ERROR":
        message = agreement.get("errorMessage") or "no error message from Bedrock"
        problems.append(
            Problem(
                ProblemCode.AGREEMENT_ERROR,
                f"the Marketplace agreement failed ({message}): fix the cause, then accept "
                "the offer again (access_check.accept_offers = true) or in the console",
            )
        )
    else:
        missing = [
            name
            for name, value in (
                ("agreement", status),
                ("entitlement", availability.get("entitlementAvailability")),
            )
            if value == "NOT_AVAILABLE"
        ]
        if missing:
            offer_hint = (
                ", or accept the offer: set access_check.accept_offers = true"
                if "agreement" in missing
                else ""
            )
            problems.append(
                Problem(
                    ProblemCode.MARKETPLACE_ACCESS_MISSING,
                    f"no Marketplace {' or '.join(missing)} yet: missing AWS Marketplace "
                    f"permissions {MARKETPLACE_ACTIONS} for the first call{offer_hint}",
                )
            )
    return problems


def _date(value: object) -> str | None:
    return f"{value:%Y-%m-%d}" if isinstance(value, datetime) else None


def _lifecycle_problems(model: Mapping[str, Any]) -> list[Problem]:
    lifecycle = (model.get("modelDetails") or {}).get("modelLifecycle") or {}
    if lifecycle.get("status") != "LEGACY":
        return []
    since = _date(lifecycle.get("legacyTime"))
    extended = _date(lifecycle.get("publicExtendedAccessTime"))
    end = _date(lifecycle.get("endOfLifeTime"))
    # The kit has no replacement map: which model suits a workload is the team's decision.
    fix = (
        "model is LEGACY"
        + (f" since {since}" if since else "")
        + ": new customers cannot use it and existing ones may lose access; move its aliases "
        "to a current model and plan a replacement before end of life"
        + (f" on {end}" if end else " (date not published)")
        + (f"; public extended access at higher prices from {extended}" if extended else "")
    )
    return [Problem(ProblemCode.LEGACY, fix)]


def _accept_offer(client: Any, model_id: str) -> Problem:
    try:
        offers = client.list_foundation_model_agreement_offers(
            modelId=model_id, offerType="PUBLIC"
        ).get("offers", [])
        if not offers:
            return Problem(
                ProblemCode.OFFER_NOT_ACCEPTED,
                "Bedrock lists no public offer for this model here: accept it in the "
                "Bedrock console or remove the model from models.enabled",
            )
        client.create_foundation_model_agreement(
            modelId=model_id, offerToken=offers[0]["offerToken"]
        )
    except ClientError as error:
        _reraise_credential_errors(error)
        return Problem(
            ProblemCode.OFFER_NOT_ACCEPTED,
            f"accepting the public offer failed ({error_code(error)}): the check role needs "
            f"{MARKETPLACE_ACTIONS}, or accept the offer in the Bedrock console",
        )
    return Problem(
        ProblemCode.OFFER_ACCEPTED,
        "offer accepted, subscription pending: retry in up to 15 minutes",
    )


def _check_one(client: Any, model_id: str, region: str, accept_offers: bool) -> list[Problem]:
    try:
        availability = client.get_foundation_model_availability(modelId=model_id)
    except ClientError as error:
        _reraise_credential_errors(error)
        code = error_code(error)
        if code in UNKNOWN_MODEL_CODES:
            return [
                Problem(
                    ProblemCode.MODEL_UNKNOWN,
                    f"Bedrock does not know this model in {region} ({code}): check the model "
                    "id, pick another region or remove it from models.enabled",
                )
            ]
        return [_check_failed("GetFoundationModelAvailability", error)]
    problems = _availability_problems(availability, region)
    if any(p.code is ProblemCode.REGION_NOT_AVAILABLE for p in problems):
        return problems
    agreement = availability.get("agreementAvailability") or {}
    if accept_offers and agreement.get("status") == "NOT_AVAILABLE":
        # The outcome of accepting supersedes the "accept the offer" advice for this model.
        problems = [p for p in problems if p.code is not ProblemCode.MARKETPLACE_ACCESS_MISSING]
        problems.append(_accept_offer(client, model_id))
    try:
        problems += _lifecycle_problems(client.get_foundation_model(modelIdentifier=model_id))
    except ClientError as error:
        _reraise_credential_errors(error)
        problems.append(_check_failed("GetFoundationModel", error))
    return problems


class _UseCaseForm:
    """Anthropic's first-time-use form: one account-level state, read (and submitted) once."""

    def __init__(self, client: Any, form: Mapping[str, str] | None) -> None:
        self.problem: Problem | None = None
        self.note: str | None = None
        try:
            client.get_use_case_for_model_access()
        except ClientError as error:
            _reraise_credential_errors(error)
            code = error_code(error)
            if code != "ResourceNotFoundException":
                self.problem = Problem(
                    ProblemCode.ANTHROPIC_USE_CASE_UNKNOWN,
                    f"could not read whether Anthropic's use-case form was submitted ({code}): "
                    "grant bedrock:GetUseCaseForModelAccess to the identity running the check",
                )
            elif form:
                self._submit(client, form)
            else:
                self.problem = Problem(
                    ProblemCode.ANTHROPIC_USE_CASE_MISSING,
                    "submit the Anthropic first-time-use form: put it in an SSM SecureString "
                    "and name that in access_check.anthropic_use_case_parameter, or use the "
                    "console",
                )

    def _submit(self, client: Any, form: Mapping[str, str]) -> None:
        try:
            client.put_use_case_for_model_access(formData=json.dumps(dict(form)).encode())
        except ClientError as error:
            _reraise_credential_errors(error)
            # Only the code: Bedrock's message could echo the form (company details).
            self.problem = Problem(
                ProblemCode.ANTHROPIC_USE_CASE_MISSING,
                f"submitting the Anthropic first-time-use form failed ({error_code(error)}): "
                "check the form in the SSM SecureString named by "
                "access_check.anthropic_use_case_parameter (companyName, companyWebsite, "
                "intendedUsers, useCases) or submit it in the console",
            )
        else:
            self.note = "Anthropic first-time-use form submitted by this run"


def check_models(
    client: Any,
    model_ids: Iterable[str],
    *,
    accept_offers: bool = False,
    use_case_form: Mapping[str, str] | None = None,
    anthropic_model_ids: set[str] | None = None,
) -> list[ModelReport]:
    """Return one report per model, in order; Bedrock's refusals become problems, not crashes."""
    models = list(model_ids)
    region = str(client.meta.region_name)
    anthropic = (anthropic_model_ids or set()) & set(models)
    # Account-level state: read at most once per run, and submitted at most once.
    form = _UseCaseForm(client, use_case_form) if anthropic else None
    reports = []
    for model_id in models:
        problems = _check_one(client, model_id, region, accept_offers)
        notes: list[str] = []
        # A model this region cannot serve needs no form: its one fix is elsewhere.
        served = not any(p.code in NOT_SERVED_HERE for p in problems)
        if form is not None and model_id in anthropic and served:
            if form.problem is not None:
                problems.append(form.problem)
            if form.note is not None:
                notes.append(form.note)
        reports.append(ModelReport(model_id, tuple(problems), tuple(notes)))
    return reports

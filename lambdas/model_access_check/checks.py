"""Checks, for each enabled model, that this account can call it, and names the fix when not.

Pure logic over an injected Bedrock control-plane client, shared by the custom resource and
the `make doctor` command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MARKETPLACE_FIX = (
    "grant the first caller aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions, "
    "or set access_check.accept_offers = true so the deployment accepts the public offer"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a model is not usable yet, and what to do about it."""

    code: str
    fix: str


@dataclass(frozen=True, slots=True)
class ModelReport:
    """The pre-flight result of one model."""

    model_id: str
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Return whether nothing stands between this account and the model."""
        return not self.problems


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _availability_problems(availability: Mapping[str, Any], region: str) -> list[Problem]:
    problems: list[Problem] = []
    if availability.get("regionAvailability") == "NOT_AVAILABLE":
        problems.append(
            Problem(
                "region_not_available",
                f"the model is not offered in {region}: pick another region or remove it from "
                "models.enabled",
            )
        )
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        problems.append(
            Problem(
                "not_authorized",
                "an IAM or SCP deny blocks this model for the account: ask the account's "
                "administrators to allow it",
            )
        )
    agreement = availability.get("agreementAvailability", {})
    status = agreement.get("status")
    if status == "PENDING":
        problems.append(
            Problem(
                "agreement_pending",
                "the Marketplace subscription is in progress: retry in up to 15 minutes",
            )
        )
    elif status == "ERROR":
        problems.append(
            Problem(
                "agreement_error",
                f"the Marketplace agreement failed: {agreement.get('errorMessage', 'no detail')}",
            )
        )
    elif (
        status == "NOT_AVAILABLE" or availability.get("entitlementAvailability") == "NOT_AVAILABLE"
    ):
        problems.append(Problem("no_agreement", f"no Marketplace agreement yet: {MARKETPLACE_FIX}"))
    return problems


def _lifecycle_problems(model: Mapping[str, Any]) -> list[Problem]:
    lifecycle = model.get("modelDetails", {}).get("modelLifecycle", {})
    if lifecycle.get("status") != "LEGACY":
        return []
    end = lifecycle.get("endOfLifeTime")
    when = f" (end of life {end:%Y-%m-%d})" if hasattr(end, "strftime") else ""
    return [
        Problem(
            "legacy",
            f"the model is LEGACY{when}: new customers cannot use it and existing ones may lose "
            "access; move its aliases to a current model and remove it from models.enabled",
        )
    ]


def check_models(
    client: Any,
    model_ids: Iterable[str],
    *,
    region: str,
    anthropic_model_ids: Iterable[str] = (),
    accept_offers: bool = False,
    use_case_form: Mapping[str, str] | None = None,
) -> list[ModelReport]:
    """Return one report per model, in order; Bedrock errors become problems, not crashes."""
    anthropic = set(anthropic_model_ids)
    use_case_state = _use_case_state(client) if anthropic else "submitted"
    if use_case_state == "missing" and use_case_form:
        client.put_use_case_for_model_access(formData=json.dumps(dict(use_case_form)).encode())
        use_case_state = "submitted-now"
    reports = []
    for model_id in model_ids:
        problems: list[Problem] = []
        notes: list[str] = []
        try:
            availability = client.get_foundation_model_availability(modelId=model_id)
            problems += _availability_problems(availability, region)
            if accept_offers and any(p.code == "no_agreement" for p in problems):
                offers = client.list_foundation_model_agreement_offers(
                    modelId=model_id, offerType="PUBLIC"
                )
                token = offers["offers"][0]["offerToken"]
                client.create_foundation_model_agreement(modelId=model_id, offerToken=token)
                problems = [p for p in problems if p.code != "no_agreement"] + [
                    Problem(
                        "agreement_pending",
                        "public offer accepted: the subscription completes within 15 minutes",
                    )
                ]
            problems += _lifecycle_problems(client.get_foundation_model(modelIdentifier=model_id))
        except Exception as error:  # noqa: BLE001 - every Bedrock refusal is a finding here
            code = _error_code(error) or type(error).__name__
            problems.append(
                Problem(
                    "lookup_failed",
                    f"Bedrock refused to describe the model ({code}): check the model id "
                    "and the region",
                )
            )
        if model_id in anthropic:
            if use_case_state == "missing":
                problems.append(
                    Problem(
                        "anthropic_use_case_missing",
                        "submit Anthropic's first-time-use form once per account: set "
                        "access_check.anthropic_use_case in the config or use the Bedrock console",
                    )
                )
            elif use_case_state == "submitted-now":
                notes.append("Anthropic use-case form submitted by this run")
        reports.append(ModelReport(model_id, tuple(problems), tuple(notes)))
    return reports


def _use_case_state(client: Any) -> str:
    try:
        client.get_use_case_for_model_access()
    except Exception as error:
        if _error_code(error) == "ResourceNotFoundException":
            return "missing"
        raise
    return "submitted"

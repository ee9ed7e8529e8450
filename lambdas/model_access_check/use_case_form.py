"""Anthropic's first-time-use form, read at run time from an SSM SecureString and validated.

The form holds company details, so it never sits in a template, a resource property or a log:
the deploy-time handler and `make doctor` read it here, and no message here quotes a value.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as EndpointUnreachableError
from botocore.parsers import ResponseParserError

from .checks import CREDENTIAL_ERROR_CODES, error_code

CONFIG_KEY = "access_check.anthropic_use_case_parameter"
FORM_KEYS = (
    "companyName",
    "companyWebsite",
    "intendedUsers",
    "industryOption",
    "otherIndustryOption",
    "useCases",
)
REQUIRED_KEYS = ("companyName", "companyWebsite", "intendedUsers", "useCases")
# What SSM answers when it cannot use the parameter's KMS key.
KMS_ERROR_CODES = frozenset({"InvalidKeyId", "KMSAccessDeniedException", "KMSDisabledException"})


class UseCaseFormError(ValueError):
    """The form's parameter cannot be read or holds no valid form; names the parameter only."""


def _where(parameter: str) -> str:
    return f"SSM parameter {parameter!r} ({CONFIG_KEY})"


def parse_use_case_form(text: str, *, parameter: str) -> dict[str, str]:
    """Return the form in `text` (a JSON object of strings), without its empty optional fields."""
    where = _where(parameter)
    try:
        form = json.loads(text)
    except ValueError:
        # No detail and no chained cause: the decoder's error holds the document itself.
        raise UseCaseFormError(f"{where} does not hold JSON: it must be a JSON object") from None
    if not isinstance(form, dict):
        raise UseCaseFormError(f"{where} must hold a JSON object, not a {type(form).__name__}")
    if not all(isinstance(value, str) for value in form.values()):
        raise UseCaseFormError(f"{where} must hold a JSON object whose values are all strings")
    # Unknown keys are counted, not named: a mistyped document could have a value as a key.
    unknown = len(set(form) - set(FORM_KEYS))
    if unknown:
        raise UseCaseFormError(
            f"{where} has {unknown} key(s) the form does not know: the keys are "
            f"{', '.join(FORM_KEYS)}"
        )
    missing = [key for key in REQUIRED_KEYS if not form.get(key, "").strip()]
    if missing:
        raise UseCaseFormError(
            f"{where} needs {', '.join(REQUIRED_KEYS)}; missing or empty: {', '.join(missing)}"
        )
    return {key: value for key, value in form.items() if value}


def _read_failure(parameter: str, code: str, region: str) -> str:
    where = _where(parameter)
    if code == "ParameterNotFound":
        return (
            f"{where} not found in {region}: create it as a SecureString holding Anthropic's "
            "use-case form (a JSON object), or leave the setting empty"
        )
    if code == "AccessDeniedException":
        return (
            f"{where} may not be read ({code}): grant ssm:GetParameter on it to the identity "
            "running the check, and kms:Decrypt on its key when that is a customer managed key"
        )
    if code in KMS_ERROR_CODES:
        return (
            f"{where} cannot be decrypted ({code}): its KMS key must exist, be enabled and "
            "allow kms:Decrypt to the identity running the check"
        )
    return f"reading {where} failed ({code}): retry; if it persists, check Parameter Store"


def read_use_case_form(ssm: Any, parameter: str) -> dict[str, str]:
    """Return the validated form held by the SecureString `parameter`, read with `ssm`.

    Raises:
        UseCaseFormError: the parameter is missing, unreadable, not a SecureString or invalid,
            or the SSM endpoint is out of reach.
        ClientError: the credentials themselves were refused (the caller says "cannot check").
        BotoCoreError: no credentials or no region (the caller says "cannot check").
    """
    region = str(ssm.meta.region_name)
    try:
        answer = ssm.get_parameter(Name=parameter, WithDecryption=True)
    except EndpointUnreachableError as error:
        raise UseCaseFormError(
            f"cannot reach the SSM endpoint in {region} to read {_where(parameter)} ({error}): "
            "the check needs a route to SSM (from an isolated VPC, an ssm interface endpoint)"
        ) from error
    except ResponseParserError:
        # No detail and no cause: botocore quotes the unparsed answer, which holds the value.
        raise UseCaseFormError(
            f"SSM's answer for {_where(parameter)} was unreadable: retry"
        ) from None
    except ClientError as error:
        code = error_code(error)
        if code in CREDENTIAL_ERROR_CODES:
            raise
        # The cause is kept: SSM's message says which action was denied and never holds the value.
        raise UseCaseFormError(_read_failure(parameter, code, region)) from error
    found = answer.get("Parameter") or {}
    kind = found.get("Type")
    if kind != "SecureString":
        raise UseCaseFormError(
            f"{_where(parameter)} is a {kind} parameter: company details belong in a "
            "SecureString; recreate it with --type SecureString"
        )
    return parse_use_case_form(str(found.get("Value", "")), parameter=parameter)

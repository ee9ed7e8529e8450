"""String patterns config values must match, each with the words its error message uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

# What each string pattern expects, as error messages say it ("'x' is not <form>").
FORMS: dict[str, str] = {}


def form_pattern(regex: str, form: str) -> str:
    """Register what `regex` expects, in the words of an error message, and return it."""
    FORMS[regex] = form
    return regex


ACCOUNT = form_pattern(r"^\d{12}$", "a 12-digit AWS account id")
REGION = form_pattern(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "an AWS region such as us-east-1")
NAME = form_pattern(
    r"^[a-z][a-z0-9-]{0,31}$", "a name of lowercase letters, digits and '-' (max 32)"
)
STAGE = form_pattern(r"^[A-Za-z0-9_]{1,64}$", "a stage name: letters, digits and '_' (max 64)")
VPC_ID = form_pattern(r"^vpc-[0-9a-f]{8,17}$", "a VPC id such as vpc-0abc1234")
SUBNET_ID = form_pattern(r"^subnet-[0-9a-f]{8,17}$", "a subnet id such as subnet-0abc1234")
ROUTE_TABLE_ID = form_pattern(r"^rtb-[0-9a-f]{8,17}$", "a route table id such as rtb-0abc1234")
EMAIL = form_pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address")
PRINCIPAL = form_pattern(
    r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$",
    "an IAM principal ARN (arn:aws:iam::123456789012:role/NAME, :user/NAME or :root)",
)
ORGANIZATION = form_pattern(r"^o-[a-z0-9]{10,32}$", "an AWS Organizations id such as o-a1b2c3d4e5")
TOPIC = form_pattern(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$",
    "an SNS topic ARN (arn:aws:sns:us-east-1:123456789012:NAME)",
)
POLICY = form_pattern(
    r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$",
    "an IAM managed policy ARN (arn:aws:iam::123456789012:policy/NAME)",
)
ROLE = form_pattern(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", "an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
)
PARAMETER = form_pattern(
    r"^/?[A-Za-z0-9_.\-/]{1,1011}$", "an SSM parameter name such as /bedrock-kit/anthropic-use-case"
)
PRODUCT_ID = form_pattern(
    r"^prod-[a-z0-9]{8,20}$", "an AWS Marketplace product id such as prod-xdkflymybwmvi"
)
TAG_KEY = form_pattern(
    r"^[A-Za-z0-9 _.:/=+@-]{1,128}$", "a tag key: letters, digits, spaces and _.:/=+-@ (max 128)"
)
TAG_VALUE = form_pattern(
    r"^[A-Za-z0-9 _.:/=+@-]{0,256}$", "a tag value: letters, digits, spaces and _.:/=+-@ (max 256)"
)
ORIGIN = form_pattern(
    r"^(\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)$",
    "a browser origin such as https://app.example.com (scheme, host, optional port) or *",
)
Name = Annotated[str, Field(pattern=NAME)]
VpcId = Annotated[str, Field(pattern=VPC_ID)]

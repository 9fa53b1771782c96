"""CloudTrail records of the Identity Center and account access manager writes the emulator
serves (moto emits none).

Each record is shaped like the `detail` of the fixtures in events/ and what
../shared/reference/identity-center-events.md sources: request and response members in
lowerCamelCase, the model's sensitive members hidden, dates in responseElements as Java-formatted
strings, `responseElements: null` for empty responses and for failures, `errorCode` and
`errorMessage` on failures. The conversion follows botocore's service models (the same models
the SDKs are generated from), so it knows each member's type and sensitivity.

Throttled requests are recorded too, with errorCode ThrottlingException: CloudTrail records calls
AWS's front end throttles (AWS's own troubleshooting guide finds them by querying CloudTrail for
`errorcode = 'ThrottlingException'`: https://repost.aws/knowledge-center/cloudtrail-rate-exceeded).
idc-guard's EventBridge rules drop failed calls (`errorCode: [{exists: false}]`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

# Emulator service name -> (botocore service name, CloudTrail eventSource).
SERVICES = {
    "sso-admin": ("sso-admin", "sso.amazonaws.com"),
    "identitystore": ("identitystore", "identitystore.amazonaws.com"),
    # UNCONFIRMED eventSource: no AWS page documents account access manager's CloudTrail events;
    # `account-access.amazonaws.com` follows the `<signing name>.amazonaws.com` convention
    # (docs/reference/access-paths.md §1.8). botocore 1.43.127 has the service's model
    # (`account-access/2018-05-10`), whose members are already lowerCamelCase (restJson1), so the
    # records carry the wire names; URI and query members (applicationArn, entitlementId,
    # resourceArn, tagKeys) are in requestParameters too, as the gateway hands them over.
    "account-access": ("account-access", "account-access.amazonaws.com"),
}

# The calls recorded: every write. Reads (List*, Get*, Describe*, IsMemberInGroups) are
# management events too, but EventBridge does not deliver them by default and idc-guard does not
# watch them, so leaving them out keeps the record stream to what the guards would receive.
_WRITE = re.compile(r"(Create|Delete|Update|Put|Attach|Detach|Provision|Tag|Untag)[A-Z]")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def is_recorded(service: str, operation: str) -> bool:
    return service in SERVICES and _WRITE.match(operation) is not None


# ---------------------------------------------------------------------------------------------
# Who called: the assumed role a test or benchmark says an access key belongs to.


@dataclass(frozen=True)
class Principal:
    """An assumed-role session, as CloudTrail's userIdentity shows it."""

    partition: str
    account: str
    role_path: str  # "/" or "/a/b/"
    role_name: str
    session: str

    @staticmethod
    def parse(arn: str, access_key: str) -> Principal:
        """An STS assumed-role ARN, or an IAM role ARN (its session is then named after the key)."""
        sts = re.fullmatch(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)", arn)
        if sts:
            return Principal(sts[1], sts[2], "/", sts[3], sts[4])
        iam = re.fullmatch(r"arn:(aws[a-z-]*):iam::(\d{12}):role(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]+)", arn)
        if iam:
            return Principal(iam[1], iam[2], iam[3], iam[4], access_key)
        raise ValueError(
            f"{arn!r} is neither arn:aws:sts::<account>:assumed-role/<role>/<session> "
            "nor arn:aws:iam::<account>:role/[path/]<role>"
        )

    @staticmethod
    def unknown(access_key: str, account: str) -> Principal:
        """A key nobody mapped: an assumed role named after the key, in the emulator's account."""
        name = re.sub(r"[^\w+=,.@-]", "-", access_key) or "anonymous"
        return Principal("aws", account, "/", name, name)

    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.role_path}{self.role_name}"

    def role_id(self) -> str:
        """A stable role id of IAM's form (AROA and 17 characters), derived from the role ARN."""
        digest = hashlib.sha256(self.role_arn().encode()).hexdigest().upper()
        return "AROA" + digest[:17]

    def user_identity(self, access_key: str, creation_date: str) -> dict[str, Any]:
        role_id = self.role_id()
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{self.session}",
            "arn": f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.session}",
            "accountId": self.account,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": self.role_arn(),
                    "accountId": self.account,
                    "userName": self.role_name,
                },
                "attributes": {"creationDate": creation_date, "mfaAuthenticated": "false"},
            },
        }


def parse_principal(option: str) -> tuple[str, Principal]:
    """`AKID=ROLE_ARN` (the --principal option)."""
    key, sep, arn = option.partition("=")
    if not sep or not key:
        raise ValueError(f"{option!r} is not AKID=ROLE_ARN")
    return key, Principal.parse(arn, key)


# ---------------------------------------------------------------------------------------------
# The record.


@dataclass
class Call:
    """What the gateway knows of one recorded request and its answer."""

    service: str  # a key of SERVICES
    operation: str
    access_key: str
    region: str
    source_ip: str
    user_agent: str
    request: dict[str, Any]
    response: dict[str, Any] | None  # the parsed answer when it succeeded
    request_id: str
    error: tuple[str, str] | None  # (code, message) when it failed


def record(call: Call, identity: dict[str, Any], account: str, now: datetime) -> dict[str, Any]:
    """The CloudTrail record of `call`, in the order CloudTrail writes the fields."""
    botocore_name, event_source = SERVICES[call.service]
    operation = _operation(botocore_name, call.operation)
    request = _members(call.request, operation.input_shape if operation else None)
    if call.operation == "CreatePermissionSet":
        # The sourced sample shows `tags: []` even when the request has none.
        request.setdefault("tags", [])
    response = None
    if call.error is None and call.response:
        response = _members(call.response, operation.output_shape if operation else None) or None
    entry: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": iso(now),
        "eventSource": event_source,
        "eventName": call.operation,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
    }
    if call.error is not None:
        entry["errorCode"], entry["errorMessage"] = call.error
    entry.update(
        {
            "requestParameters": request or None,
            "responseElements": response,
            "requestID": call.request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
            # The API is HTTPS-only, so every real record has these; the emulator speaks HTTP.
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{event_source.split('.')[0]}.{call.region}.amazonaws.com",
            },
        }
    )
    return entry


def iso(now: datetime) -> str:
    """ISO 8601 UTC to the second, as CloudTrail's eventTime."""
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=None)
def _model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def _operation(service: str, name: str) -> OperationModel | None:
    try:
        return _model(service).operation_model(name)
    except Exception:  # an operation the model does not know: members are copied as sent
        return None


def _members(value: dict[str, Any], shape: Shape | None) -> dict[str, Any]:
    converted = _convert(value, shape, top=True)
    return converted if isinstance(converted, dict) else {}


def _convert(value: Any, shape: Shape | None, top: bool = False) -> Any:
    """One member as CloudTrail writes it: keys lowerCamelCase, sensitive values hidden."""
    if shape is None:
        return _lower_keys(value)
    if shape.metadata.get("sensitive"):
        return _hidden(value)
    if shape.metadata.get("document"):
        # A document (identitystore UpdateUser's attributeValue) is opaque to the model; whether
        # CloudTrail hides parts of it is not documented, so it is copied as sent.
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        # An item such as an email or an address: the SCIM samples and the fixtures hide every
        # attribute of it (`primary` too, which the model does not mark sensitive).
        hide_all = not top and any(m.metadata.get("sensitive") for m in members.values())
        # moto sends absent members as null; AWS leaves them out.
        return {
            _lower_first(name): _hidden(item) if hide_all else _convert(item, members.get(name))
            for name, item in value.items()
            if item is not None
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_convert(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _convert(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _java_date(float(value))
    return value


def _hidden(value: Any) -> Any:
    if isinstance(value, dict):
        return {_lower_first(k): _hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v) for v in value]
    return HIDDEN


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_lower_first(k): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _java_date(epoch: float) -> str:
    """CloudTrail's form of dates in responseElements, e.g. "Mar 4, 2026 4:25:50 PM" (UTC)."""
    t = datetime.fromtimestamp(epoch, tz=timezone.utc)
    hour = t.hour % 12 or 12
    return f"{_MONTHS[t.month - 1]} {t.day}, {t.year} {hour}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"

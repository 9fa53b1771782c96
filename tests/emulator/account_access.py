"""Account access manager (service `account-access`), which moto does not have.

The model followed (the same in both places, read side by side):
  - botocore 1.43.127 `botocore/data/account-access/2018-05-10/service-2.json` (in .venv), and
  - the Rust SDK crate aws-sdk-accountaccess 1.15.0: `src/operation/*.rs` (each operation's URI
    and method, `uri_base`/`uri_query`), `src/protocol_serde/shape_*.rs` (the wire members),
    `src/json_errors.rs` (how an error's code and message are read), `src/types/*.rs`.
Protocol restJson1: members are lowerCamelCase on the wire; URI labels and query members as below.

  CreateApplication    POST   /applications                        {identitySource, tags?}
  GetApplication       GET    /applications/{applicationArn}
  ListApplications     POST   /applications-list                   {maxResults?, nextToken?}
  DeleteApplication    DELETE /applications/{applicationArn}        -> 204
  CreateEntitlement    POST   /entitlements                        {applicationArn, entitlement}
  GetEntitlement       GET    /entitlements/{entitlementId}?applicationArn=
  ListEntitlements     POST   /entitlements-list                   {applicationArn, filter, maxResults?, nextToken?}
  DeleteEntitlement    DELETE /entitlements/{entitlementId}?applicationArn=   -> 204
  TagResource          POST   /tags/{resourceArn}                  {tags}
  UntagResource        DELETE /tags/{resourceArn}?tagKeys=&tagKeys=
  ListTagsForResource  GET    /tags/{resourceArn}

Errors are sent as the SDK parses them (json_errors.rs: the `x-amzn-errortype` header first,
else the body's `code`/`__type`; the message from `message`), with the model's status codes:
ValidationException 400, AccessDeniedException 403, ResourceNotFoundException 404,
ConflictException 409, ServiceQuotaExceededException 402, ThrottlingException 429,
InternalServerException 500; AlreadyCreatedException has no status in the model (400 here).
Answered: ValidationException, ResourceNotFoundException, ConflictException,
ServiceQuotaExceededException (below). Never answered: AccessDeniedException (no IAM here),
ThrottlingException (the service's own 20 TPS quota is not emulated), InternalServerException, and
AlreadyCreatedException, which the model lists for CreateApplication only: the documented
idempotency answers the existing application instead, and when AWS raises it is unconfirmed.

Behaviour, with its source (the model's documentation strings unless said otherwise):
  - One application per Identity Center instance (and Region). CreateApplication "is idempotent;
    calling it multiple times with the same parameters returns the existing application": a
    second call for the same instance answers the existing ARN (its tags are left as they are).
    The instance must exist in the emulator's sso-admin (moto's backend of the same account and
    Region); another is a ValidationException (CreateApplication has no ResourceNotFoundException
    in the model). Creation is asynchronous in AWS (status CREATE_IN_PROGRESS, a waiter polls
    for ACTIVE); the emulator's applications are ACTIVE at once. `tenantId` is not documented
    and not sent.
  - The application ARN is arn:<partition>:account-access:<region>:<account>:application/<id>
    (the ApplicationArn pattern); the id is `aam-` and 16 hex digits (the form in Pulumi's
    example, docs/reference/access-paths.md §1.4). The IdC application AWS creates behind it is
    only named (identitySource.identityCenter.applicationArn, of the IdentityCenterApplicationArn
    pattern): the emulator does not add it to sso-admin's ListApplications (unconfirmed whether,
    and with which provider and scopes, AWS lists it there).
  - An entitlement has no ARN; its id is opaque (undocumented form; a UUID here). Its input is
    `entitlement.principalRole{principal.identityCenter{userId|groupId}, roleArn}`: the model's
    PrincipalRoleEntitlement has NO `account` member (docs/reference/access-paths.md §1.2 says
    "account?": the model says otherwise), so the account is always the role ARN's, and it is
    always present on output (PrincipalRoleEntitlementDetails/Summary require it). `accountName`
    is not sent. Whether the principal exists in the identity store, or the role in its account,
    is not checked (unconfirmed what AWS checks, and when).
  - CreateEntitlement "is idempotent": the same application, principal and role answer the
    existing entitlement's id.
  - At most 20 groups per IAM role (IAM user guide, aam-quotas: "Maximum number of groups
    assigned to an IAM role: 20"): the 21st group entitled to one role of an application is a
    ServiceQuotaExceededException.
  - DeleteEntitlement / DeleteApplication: "deleting an entitlement [application] that has
    already been deleted does not return an error", so the emulator remembers what it deleted
    and answers 204 again; an id it never created is a ResourceNotFoundException (the model lists
    it for both).
  - DeleteApplication of an application that still has entitlements is a ConflictException
    ("The request conflicts with the current state of the resource"): UNCONFIRMED, AWS may
    instead delete them with it. DELETE_APPLICATION_WITH_ENTITLEMENTS_IS_CONFLICT switches it.
  - ListEntitlements: `filter` is required (EntitlementFilter, a structure, not a union, so `{}`
    lists everything); its `principalRole` has optional principal/roleArn/account and "All
    specified criteria must match". maxResults 1-100 (default 100 here); nextToken pages in
    creation order and is bound to the request it came from (another request's token, or a
    made-up one, is a ValidationException).
  - Tags: a string map on the application (TagsMap has no constraints in the model).

State is per server and per (account, Region); `clear()` (on POST /moto-api/reset) wipes it.
Nothing here knows about WSGI: gateway.py routes a request here when its SigV4 credential scope
names the service `account-access` and turns the `Reply` into the HTTP answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

# See the module docstring; False: DeleteApplication deletes the entitlements with it.
DELETE_APPLICATION_WITH_ENTITLEMENTS_IS_CONFLICT = True
# aam-quotas: "Maximum number of groups assigned to an IAM role".
GROUPS_PER_ROLE = 20
# ListApplications / ListEntitlements without maxResults (the model gives no default).
DEFAULT_PAGE_SIZE = 100

# The model's patterns (service-2.json shapes of the same names).
_APPLICATION_ARN = re.compile(r"arn:[a-z0-9-]+:account-access:[a-z0-9]+(-[a-z0-9]+)*:[0-9]{12}:application/[a-zA-Z0-9-]+")
_INSTANCE_ARN = re.compile(r"arn:[a-z0-9-]+:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}")
_ROLE_ARN = re.compile(r"arn:[a-z0-9-]+:iam::[0-9]{12}:role/([a-zA-Z0-9+=,.@_-]+/)*[a-zA-Z0-9+=,.@_-]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_IDENTITY_ID = re.compile(
    r"([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"
)

# Status codes of the model's errors ("error": {"httpStatusCode": ...}).
_STATUS = {
    "ValidationException": 400,
    "AlreadyCreatedException": 400,
    "ServiceQuotaExceededException": 402,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "UnknownOperationException": 404,
    "ConflictException": 409,
    "ThrottlingException": 429,
    "InternalServerException": 500,
}


class ServiceError(Exception):
    """An error the service answers: its code (the model's shape name) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def _not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


@dataclass
class Reply:
    """What the service answers: status, JSON body (None: no body), and the error code if any."""

    status: int
    body: dict[str, Any] | None
    error: str | None = None

    def headers(self, request_id: str) -> list[tuple[str, str]]:
        headers = [("x-amzn-RequestId", request_id)]
        if self.body is not None:
            headers.append(("Content-Type", "application/json"))
        if self.error is not None:
            headers.append(("x-amzn-ErrorType", self.error))
        return headers

    def payload(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Call:
    """A request as the gateway hands it over: method, URL-decoded path, query, body, Region."""

    method: str
    path: str
    query: str
    body: bytes
    region: str


@dataclass
class Handled:
    """The answer, the operation's name, and its input members (URI, query and body members
    together, lowerCamelCase, as CloudTrail's requestParameters would hold them)."""

    operation: str
    reply: Reply
    params: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Validation, with messages in the form AWS's validation layer uses for the other services.


def _constraint(value: Any, member: str, constraint: str) -> ServiceError:
    shown = "null" if value is None else f"'{value}'"
    return _validation(
        f"1 validation error detected: Value {shown} at '{member}' failed to satisfy constraint: {constraint}"
    )


def _required(value: Any, member: str) -> Any:
    if value is None:
        raise _constraint(None, member, "Member must not be null")
    return value


def _string(
    value: Any, member: str, pattern: re.Pattern[str] | None = None, min_len: int = 0, max_len: int | None = None
) -> str:
    if not isinstance(value, str):
        raise _validation(f"'{member}' must be a string")
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        upper = "" if max_len is None else f" and {max_len}"
        raise _constraint(value, member, f"Member must have length between {min_len}{upper}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _constraint(value, member, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    return value


def _structure(value: Any, member: str, members: tuple[str, ...]) -> dict[str, Any]:
    """A structure (or the request body, member ""), with no members the model does not have."""
    name = f"'{member}'" if member else "the request"
    if not isinstance(value, dict):
        raise _validation(f"{name} must be a structure")
    unknown = sorted(set(value) - set(members))
    if unknown:
        raise _validation(f"{name} has unknown members: {', '.join(unknown)}")
    return value


def _union(value: Any, member: str, members: tuple[str, ...]) -> tuple[str, Any]:
    """A tagged union: exactly one of `members` set (Smithy's rule for unions)."""
    given = {k: v for k, v in _structure(value, member, members).items() if v is not None}
    if len(given) != 1:
        raise _validation(f"'{member}' must have exactly one of {', '.join(members)} set, not {len(given)}")
    return next(iter(given.items()))


def _application_arn(value: Any, member: str = "applicationArn") -> str:
    return _string(_required(value, member), member, _APPLICATION_ARN, 49, 2048)


def _max_results(value: Any) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise _constraint(value, "maxResults", "Member must have value between 1 and 100")
    return value


def _principal(value: Any, member: str) -> tuple[str, str]:
    """Principal / PrincipalFilter: ("userId"|"groupId", id)."""
    _, center = _union(value, member, ("identityCenter",))
    kind, identifier = _union(center, f"{member}.identityCenter", ("userId", "groupId"))
    _string(identifier, f"{member}.identityCenter.{kind}", _IDENTITY_ID, 1, 47)
    return kind, identifier


def _timestamp(moment: datetime) -> str:
    """The model's DateTime (timestampFormat iso8601), as the SDK reads it (DateTimeWithOffset)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------------------------
# State.


@dataclass
class Entitlement:
    entitlement_id: str
    seq: int
    kind: str  # "userId" or "groupId"
    principal_id: str
    role_arn: str
    account: str
    created_at: datetime

    def principal(self) -> dict[str, Any]:
        return {"identityCenter": {self.kind: self.principal_id}}

    def principal_role(self) -> dict[str, Any]:
        return {"principal": self.principal(), "roleArn": self.role_arn, "account": self.account}


@dataclass
class Application:
    arn: str
    seq: int
    instance_arn: str
    idc_application_arn: str
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    entitlements: dict[str, Entitlement] = field(default_factory=dict)
    deleted_entitlements: set[str] = field(default_factory=set)


class AccountAccess:
    """The service's state and operations for one server; thread-safe (one lock)."""

    def __init__(self, account: str, instance_exists: Callable[[str, str, str], bool]) -> None:
        """`account`: the account every request acts in (moto's); `instance_exists(account,
        region, instance_arn)`: whether sso-admin has that Identity Center instance."""
        self.account = account
        self.instance_exists = instance_exists
        self._lock = threading.Lock()
        self._seq = 0
        # (account, region) -> application ARN -> application
        self._applications: dict[tuple[str, str], dict[str, Application]] = {}
        self._deleted_applications: set[str] = set()

    def clear(self) -> None:
        with self._lock:
            self._applications.clear()
            self._deleted_applications.clear()

    # --- dispatch ----------------------------------------------------------------------------

    _ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
        ("POST", re.compile(r"/applications"), "CreateApplication"),
        ("POST", re.compile(r"/applications-list"), "ListApplications"),
        ("GET", re.compile(r"/applications/(?P<label>.+)"), "GetApplication"),
        ("DELETE", re.compile(r"/applications/(?P<label>.+)"), "DeleteApplication"),
        ("POST", re.compile(r"/entitlements"), "CreateEntitlement"),
        ("POST", re.compile(r"/entitlements-list"), "ListEntitlements"),
        ("GET", re.compile(r"/entitlements/(?P<label>[^/]+)"), "GetEntitlement"),
        ("DELETE", re.compile(r"/entitlements/(?P<label>[^/]+)"), "DeleteEntitlement"),
        ("POST", re.compile(r"/tags/(?P<label>.+)"), "TagResource"),
        ("DELETE", re.compile(r"/tags/(?P<label>.+)"), "UntagResource"),
        ("GET", re.compile(r"/tags/(?P<label>.+)"), "ListTagsForResource"),
    )

    def handle(self, call: Call) -> Handled:
        """Answers one request. The path is URL-decoded, so an ARN label (which the SDK
        percent-encodes whole, `/` included) is the rest of the path after its prefix."""
        for method, pattern, operation in self._ROUTES:
            matched = pattern.fullmatch(call.path.rstrip("/") or "/")
            if method == call.method and matched:
                label = matched.groupdict().get("label")
                break
        else:
            message = f"no account-access operation is {call.method} {call.path}"
            return Handled(f"{call.method} {call.path}", Reply(404, {"message": message}, "UnknownOperationException"))
        query = parse_qs(call.query, keep_blank_values=True)
        params: dict[str, Any] = {}
        try:
            body = json.loads(call.body) if call.body.strip() else {}
            if not isinstance(body, dict):
                raise _validation("the request body must be a JSON object")
            params = self._params(operation, label, query, body)
            with self._lock:
                reply = getattr(self, "_" + _snake(operation))(call.region, params)
        except ValueError:
            reply = Reply(400, {"message": "the request body is not JSON"}, "SerializationException")
        except ServiceError as error:
            reply = Reply(_STATUS.get(error.code, 400), {"message": error.message}, error.code)
        return Handled(operation, reply, params)

    @staticmethod
    def _params(operation: str, label: str | None, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        """The operation's input members, from the URI label, the query string and the body."""
        params = dict(body)
        if operation in ("GetApplication", "DeleteApplication"):
            params["applicationArn"] = label
        elif operation in ("GetEntitlement", "DeleteEntitlement"):
            params["entitlementId"] = label
            if "applicationArn" in query:
                params["applicationArn"] = query["applicationArn"][-1]
        elif operation in ("TagResource", "UntagResource", "ListTagsForResource"):
            params["resourceArn"] = label
            if operation == "UntagResource" and "tagKeys" in query:
                params["tagKeys"] = query["tagKeys"]
        return params

    # --- applications ------------------------------------------------------------------------

    def _apps(self, region: str) -> dict[str, Application]:
        return self._applications.setdefault((self.account, region), {})

    def _application(self, region: str, arn: str) -> Application:
        application = self._apps(region).get(arn)
        if application is None:
            raise _not_found(f"Application {arn} not found")
        return application

    def _create_application(self, region: str, params: dict[str, Any]) -> Reply:
        _structure(params, "", ("identitySource", "tags"))
        _, center = _union(_required(params.get("identitySource"), "identitySource"), "identitySource", ("identityCenter",))
        _structure(center, "identitySource.identityCenter", ("instanceArn",))
        member = "identitySource.identityCenter.instanceArn"
        instance_arn = _string(_required(center.get("instanceArn"), member), member, _INSTANCE_ARN, 10, 1224)
        tags = _tags(params.get("tags"), required=False)
        if not self.instance_exists(self.account, region, instance_arn):
            raise _validation(f"IAM Identity Center instance {instance_arn} does not exist or is not accessible")
        for application in self._apps(region).values():
            if application.instance_arn == instance_arn:
                return Reply(200, {"applicationArn": application.arn})
        partition = instance_arn.split(":")[1]
        arn = f"arn:{partition}:account-access:{region}:{self.account}:application/aam-{uuid.uuid4().hex[:16]}"
        instance_id = instance_arn.rsplit("/", 1)[-1]
        idc_application = f"arn:{partition}:sso::{self.account}:application/{instance_id}/apl-{uuid.uuid4().hex[:16]}"
        now = _now()
        self._seq += 1
        self._apps(region)[arn] = Application(arn, self._seq, instance_arn, idc_application, now, now, dict(tags))
        return Reply(200, {"applicationArn": arn})

    def _get_application(self, region: str, params: dict[str, Any]) -> Reply:
        application = self._application(region, _application_arn(params.get("applicationArn")))
        body: dict[str, Any] = {
            "identitySource": {
                "identityCenter": {
                    "instanceArn": application.instance_arn,
                    "applicationArn": application.idc_application_arn,
                }
            },
            "status": "ACTIVE",
            "createdAt": _timestamp(application.created_at),
            "updatedAt": _timestamp(application.updated_at),
        }
        if application.tags:
            body["tags"] = dict(application.tags)
        return Reply(200, body)

    def _list_applications(self, region: str, params: dict[str, Any]) -> Reply:
        _structure(params, "", ("maxResults", "nextToken"))
        size = _max_results(params.get("maxResults"))
        applications = sorted(self._apps(region).values(), key=lambda a: a.seq)
        page, token = _page(applications, lambda a: a.seq, size, params.get("nextToken"), ["ListApplications", region])
        body: dict[str, Any] = {
            "applications": [
                {
                    "applicationArn": a.arn,
                    "createdAt": _timestamp(a.created_at),
                    "updatedAt": _timestamp(a.updated_at),
                }
                for a in page
            ]
        }
        if token is not None:
            body["nextToken"] = token
        return Reply(200, body)

    def _delete_application(self, region: str, params: dict[str, Any]) -> Reply:
        arn = _application_arn(params.get("applicationArn"))
        application = self._apps(region).get(arn)
        if application is None:
            if arn in self._deleted_applications:
                return Reply(204, None)
            raise _not_found(f"Application {arn} not found")
        if application.entitlements and DELETE_APPLICATION_WITH_ENTITLEMENTS_IS_CONFLICT:
            raise ServiceError(
                "ConflictException",
                f"Application {arn} still has {len(application.entitlements)} entitlement(s); delete them first",
            )
        del self._apps(region)[arn]
        self._deleted_applications.add(arn)
        return Reply(204, None)

    # --- entitlements ------------------------------------------------------------------------

    def _create_entitlement(self, region: str, params: dict[str, Any]) -> Reply:
        _structure(params, "", ("applicationArn", "entitlement"))
        arn = _application_arn(params.get("applicationArn"))
        _, principal_role = _union(_required(params.get("entitlement"), "entitlement"), "entitlement", ("principalRole",))
        _structure(principal_role, "entitlement.principalRole", ("principal", "roleArn"))
        member = "entitlement.principalRole"
        kind, principal_id = _principal(_required(principal_role.get("principal"), f"{member}.principal"), f"{member}.principal")
        role_arn = _string(_required(principal_role.get("roleArn"), f"{member}.roleArn"), f"{member}.roleArn", _ROLE_ARN)
        application = self._application(region, arn)
        for existing in application.entitlements.values():
            if (existing.kind, existing.principal_id, existing.role_arn) == (kind, principal_id, role_arn):
                return Reply(200, {"entitlementId": existing.entitlement_id})
        if kind == "groupId":
            groups = {e.principal_id for e in application.entitlements.values() if e.kind == kind and e.role_arn == role_arn}
            if len(groups) >= GROUPS_PER_ROLE:
                raise ServiceError(
                    "ServiceQuotaExceededException",
                    f"Role {role_arn} already has the maximum of {GROUPS_PER_ROLE} groups assigned",
                )
        self._seq += 1
        entitlement = Entitlement(str(uuid.uuid4()), self._seq, kind, principal_id, role_arn, role_arn.split(":")[4], _now())
        application.entitlements[entitlement.entitlement_id] = entitlement
        application.updated_at = entitlement.created_at
        return Reply(200, {"entitlementId": entitlement.entitlement_id})

    def _entitlement_of(self, region: str, params: dict[str, Any]) -> tuple[Application, str]:
        arn = _application_arn(params.get("applicationArn"))
        entitlement_id = _string(_required(params.get("entitlementId"), "entitlementId"), "entitlementId", min_len=1)
        return self._application(region, arn), entitlement_id

    def _get_entitlement(self, region: str, params: dict[str, Any]) -> Reply:
        application, entitlement_id = self._entitlement_of(region, params)
        entitlement = application.entitlements.get(entitlement_id)
        if entitlement is None:
            raise _not_found(f"Entitlement {entitlement_id} not found in application {application.arn}")
        return Reply(
            200,
            {
                "applicationArn": application.arn,
                "entitlementId": entitlement.entitlement_id,
                "entitlement": {"principalRole": entitlement.principal_role()},
                "createdAt": _timestamp(entitlement.created_at),
            },
        )

    def _delete_entitlement(self, region: str, params: dict[str, Any]) -> Reply:
        application, entitlement_id = self._entitlement_of(region, params)
        if entitlement_id in application.deleted_entitlements:
            return Reply(204, None)
        if application.entitlements.pop(entitlement_id, None) is None:
            raise _not_found(f"Entitlement {entitlement_id} not found in application {application.arn}")
        application.deleted_entitlements.add(entitlement_id)
        application.updated_at = _now()
        return Reply(204, None)

    def _list_entitlements(self, region: str, params: dict[str, Any]) -> Reply:
        _structure(params, "", ("applicationArn", "filter", "maxResults", "nextToken"))
        arn = _application_arn(params.get("applicationArn"))
        criteria = _filter(_required(params.get("filter"), "filter"))
        size = _max_results(params.get("maxResults"))
        application = self._application(region, arn)
        matching = sorted(
            (e for e in application.entitlements.values() if _matches(e, criteria)), key=lambda e: e.seq
        )
        bound_to = ["ListEntitlements", region, arn, json.dumps(params.get("filter"), sort_keys=True)]
        page, token = _page(matching, lambda e: e.seq, size, params.get("nextToken"), bound_to)
        body: dict[str, Any] = {
            "entitlements": [
                {
                    "entitlementId": e.entitlement_id,
                    "entitlement": {"principalRole": e.principal_role()},
                    "createdAt": _timestamp(e.created_at),
                }
                for e in page
            ]
        }
        if token is not None:
            body["nextToken"] = token
        return Reply(200, body)

    # --- tags --------------------------------------------------------------------------------

    def _tag_resource(self, region: str, params: dict[str, Any]) -> Reply:
        application = self._application(region, _application_arn(params.get("resourceArn"), "resourceArn"))
        application.tags.update(_tags(params.get("tags"), required=True))
        return Reply(200, {})

    def _untag_resource(self, region: str, params: dict[str, Any]) -> Reply:
        application = self._application(region, _application_arn(params.get("resourceArn"), "resourceArn"))
        keys = _required(params.get("tagKeys"), "tagKeys")
        for key in keys:
            application.tags.pop(key, None)
        return Reply(200, {})

    def _list_tags_for_resource(self, region: str, params: dict[str, Any]) -> Reply:
        application = self._application(region, _application_arn(params.get("resourceArn"), "resourceArn"))
        return Reply(200, {"tags": dict(application.tags)})


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Criteria:
    """PrincipalRoleEntitlementFilter: each member given must match."""

    principal: tuple[str, str] | None = None
    role_arn: str | None = None
    account: str | None = None


def _filter(value: Any) -> _Criteria:
    given = _structure(value, "filter", ("principalRole",))
    principal_role = given.get("principalRole")
    if principal_role is None:
        return _Criteria()
    member = "filter.principalRole"
    _structure(principal_role, member, ("principal", "roleArn", "account"))
    principal = principal_role.get("principal")
    role_arn = principal_role.get("roleArn")
    account = principal_role.get("account")
    return _Criteria(
        principal=None if principal is None else _principal(principal, f"{member}.principal"),
        role_arn=None if role_arn is None else _string(role_arn, f"{member}.roleArn", _ROLE_ARN),
        account=None if account is None else _string(account, f"{member}.account", _ACCOUNT, 12, 12),
    )


def _matches(entitlement: Entitlement, criteria: _Criteria) -> bool:
    return (
        (criteria.principal is None or criteria.principal == (entitlement.kind, entitlement.principal_id))
        and (criteria.role_arn is None or criteria.role_arn == entitlement.role_arn)
        and (criteria.account is None or criteria.account == entitlement.account)
    )


def _tags(value: Any, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    tags = _required(value, "tags")
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise _validation("'tags' must be a map of strings to strings")
    return tags


def _page(
    items: list[Any], seq: Callable[[Any], int], size: int, token: Any, bound_to: list[str]
) -> tuple[list[Any], str | None]:
    """One page of `items` (sorted by `seq`) after the token's position, and the next token.

    A token is the last sequence number answered and a digest of the request it belongs to, so
    a page stays right when items are added or deleted between calls, and a token of another
    listing (or made up) is refused, as AWS refuses one.
    """
    digest = hashlib.sha256(json.dumps(bound_to).encode()).hexdigest()[:16]
    after = 0
    if token is not None:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            after, bound = int(decoded["after"]), str(decoded["request"])
        except (ValueError, KeyError, TypeError):
            raise _validation("The nextToken is invalid") from None
        if bound != digest:
            raise _validation("The nextToken is invalid for this request")
    remaining = [item for item in items if seq(item) > after]
    page = remaining[:size]
    if len(remaining) <= size:
        return page, None
    next_token = json.dumps({"after": seq(page[-1]), "request": digest}).encode()
    return page, base64.urlsafe_b64encode(next_token).decode()


def moto_instance_exists(account: str, region: str, instance_arn: str) -> bool:
    """Whether moto's sso-admin backend of `account` and `region` has the instance (moto makes
    one instance per backend; idc_guard_moto.py leaves that as it is)."""
    from moto.ssoadmin.models import ssoadmin_backends

    return any(i.instance_arn == instance_arn for i in ssoadmin_backends[account][region].instances)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

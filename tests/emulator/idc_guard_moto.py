"""idc-guard's extension of moto's sso-admin service.

moto (pinned in requirements.txt) lacks, or gets wrong, some sso-admin operations idc-guard relies
on. This module fills those gaps, following the AWS API reference (botocore's sso-admin 2020-07-20
model for member names, constraints and error types). `apply()` patches moto's own
`SSOAdminBackend` and `SSOAdminResponse` classes, so every added action is dispatched by moto's
normal response machinery (`BaseResponse.call_action` looks the action's snake_case name up on the
response class) and its state lives in the ordinary per-account, per-region backend, which
`POST /moto-api/reset` wipes like any other.

Added (moto raises NotImplementedError for them):
  Put/Get/DeletePermissionsBoundary{To,For,From}PermissionSet
  Create/Describe/Update/DeleteInstanceAccessControlAttributeConfiguration
  TagResource, UntagResource, ListTagsForResource (permission sets and the instance; the tags
    given to CreatePermissionSet included)
  DescribePermissionSetProvisioningStatus
Replaced (moto gets them wrong):
  ProvisionPermissionSet: honours TargetType/TargetId and records the request
  ListAccountsForProvisionedPermissionSet, ListPermissionSetsProvisionedToAccount: the accounts a
    set is really provisioned to (by an assignment, or by ProvisionPermissionSet to AWS_ACCOUNT),
    AccountId and ProvisioningStatus honoured, no duplicates, paginated
  CreateAccountAssignment: an identical existing assignment is a ConflictException (see
    DUPLICATE_ASSIGNMENT_IS_CONFLICT), not a second row
  CreatePermissionSet: the ARN has AWS's form, arn:aws:sso:::permissionSet/ssoins-…/ps-… (moto:
    arn:aws:sso:::instance/ssoins-…/ps-…, which no client validating ARNs accepts)
  CreatePermissionSet / UpdatePermissionSet: SessionDuration defaults to "PT1H" (moto: the number
    3600, which no SDK can read as the string the model says), and UpdatePermissionSet leaves the
    members it is not given unchanged (moto: clears them)

Provisioning model: each permission set has a revision, bumped by every write that AWS only pushes
to accounts on ProvisionPermissionSet (update, inline/managed/customer-managed policies,
boundary). An account holds the revision last provisioned to it; it is "latest" when they match.
An assignment provisions its set to its account; deleting the last assignment of a set in an
account deprovisions it there, as AWS does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random as random
from moto.ssoadmin import exceptions as moto_exceptions
from moto.ssoadmin import models as moto_models
from moto.ssoadmin.models import PermissionSet, SSOAdminBackend
from moto.ssoadmin.responses import SSOAdminResponse
from moto.utilities.paginator import paginate

# An identical CreateAccountAssignment never stores a second row. The API reference does not say
# what AWS answers; the emulator answers ConflictException, so code under test must cope with it.
# (terraform-provider-aws lists before creating "since the AWS SSO API doesn't prevent us from
# creating duplicates", which suggests AWS may instead accept it.) False: accept it, idempotently.
DUPLICATE_ASSIGNMENT_IS_CONFLICT = True

# ListTagsForResource has no MaxResults member; this is the page size the emulator uses.
TAGS_PAGE_SIZE = 50

_APPLIED = False


# ---------------------------------------------------------------------------------------------
# Errors: moto's JsonRESTError subclasses, rendered as {"__type": ..., "message": ...}.


class ResourceNotFoundException(moto_exceptions.ResourceNotFoundException):
    pass


class ConflictException(moto_exceptions.ConflictException):
    pass


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(error_type="ValidationException", message=message)


# ---------------------------------------------------------------------------------------------
# Constraints from the model.

_INSTANCE_ARN = re.compile(r"arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}")
_PERMISSION_SET_ARN = re.compile(
    r"arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}"
)
_TAGGABLE_ARN = re.compile(
    r"arn:aws(-[a-z]{1,5}){0,3}:sso::((:instance/(sso)?ins-[a-zA-Z0-9-.]{16})"
    r"|(:permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16})"
    r"|(\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16})"
    r"|(\d{12}:trustedTokenIssuer/(sso)?ins-[a-zA-Z0-9-.]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}"
    r"-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}))"
)
_ACCOUNT_ID = re.compile(r"\d{12}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MANAGED_POLICY_ARN = re.compile(
    r"arn:aws(-[a-z]{1,5}){0,3}:iam::aws:policy((/[A-Za-z0-9\.,\+@=_-]+)*)/([A-Za-z0-9\.,\+=@_-]+)"
)
_POLICY_NAME = re.compile(r"[\w+=,.@-]+")
_POLICY_PATH = re.compile(r"((/[A-Za-z0-9\.,\+@=_-]+)*)/")
# \p{L}\p{Z}\p{N} approximated by Python's \w (letters, digits, underscore) plus whitespace.
_ABAC_KEY = re.compile(r"[\w\s.:/=+\-@]+")
_ABAC_SOURCE = re.compile(r"[\w\s.:/=+\-@\[\]{}$\\\"]*")
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")

_PROVISION_TARGET_TYPES = ("AWS_ACCOUNT", "ALL_PROVISIONED_ACCOUNTS")
_PROVISIONING_STATUSES = (
    "LATEST_PERMISSION_SET_PROVISIONED",
    "LATEST_PERMISSION_SET_NOT_PROVISIONED",
)


def _null(member: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
        "Member must not be null"
    )


def _require(value: Any, member: str) -> Any:
    if value is None or value == "":
        raise _null(member)
    return value


def _check(pattern: re.Pattern[str], value: str, member: str, min_len: int, max_len: int) -> None:
    if (
        not isinstance(value, str)
        or not min_len <= len(value) <= max_len
        or not pattern.fullmatch(value)
    ):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must have length between {min_len} and {max_len} and match pattern {pattern.pattern}"
        )


def _check_instance_arn(value: Any, member: str = "instanceArn") -> str:
    _check(_INSTANCE_ARN, _require(value, member), member, 10, 1224)
    return str(value)


def _check_permission_set_arn(value: Any, member: str = "permissionSetArn") -> str:
    _check(_PERMISSION_SET_ARN, _require(value, member), member, 10, 1224)
    return str(value)


def _check_account_id(value: Any, member: str) -> str:
    _check(_ACCOUNT_ID, _require(value, member), member, 12, 12)
    return str(value)


def _check_max_results(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 100:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: "
            "Member must have value between 1 and 100"
        )
    return number


def _check_provisioning_status(value: Any) -> str | None:
    if value is not None and value not in _PROVISIONING_STATUSES:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'provisioningStatus' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(_PROVISIONING_STATUSES)}]"
        )
    return value


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    """AWS omits absent members; moto would send them as null."""
    return {k: v for k, v in values.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# Backend state and helpers.

_PAGINATION_MODEL = {
    "idc_list_tags_for_resource": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": TAGS_PAGE_SIZE,
        "unique_attribute": "Key",
    },
    "idc_list_accounts_for_provisioned_permission_set": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": None,
    },
    "idc_list_permission_sets_provisioned_to_account": {
        "input_token": "next_token",
        "limit_key": "max_results",
        "limit_default": 100,
        "unique_attribute": None,
    },
}


def _paginated(call: Any, **kwargs: Any) -> tuple[list[Any], str | None]:
    """moto's paginator, with an unusable token reported as AWS does (ValidationException)."""
    try:
        return call(**kwargs)
    except Exception as error:  # moto's InvalidToken is not a JsonRESTError
        if type(error).__name__ == "InvalidToken":
            raise ValidationException("The NextToken is invalid") from error
        raise


class _IdcState:
    """What idc-guard's extension keeps per backend (one per account and region)."""

    def __init__(self) -> None:
        # instance ARN -> list of {"Key", "Value": {"Source": [...]}}
        self.abac: dict[str, list[dict[str, Any]]] = {}
        # instance ARN -> [{"Key", "Value"}]
        self.instance_tags: dict[str, list[dict[str, str]]] = {}
        # (instance ARN, request id) -> PermissionSetProvisioningStatus
        self.provisioning_requests: dict[tuple[str, str], dict[str, Any]] = {}
        # permission set ARN -> {account id: revision provisioned there}, insertion-ordered
        self.provisioned: dict[str, dict[str, int]] = {}


def _state(backend: SSOAdminBackend) -> _IdcState:
    state = backend.__dict__.get("_idc_state")
    if state is None:
        state = _IdcState()
        backend.__dict__["_idc_state"] = state
    return state


def _revision(permission_set: PermissionSet) -> int:
    return int(getattr(permission_set, "idc_revision", 0))


def _bump_revision(backend: SSOAdminBackend, instance_arn: str, permission_set_arn: str) -> None:
    permission_set = backend._find_permission_set(instance_arn, permission_set_arn)
    permission_set.idc_revision = _revision(permission_set) + 1  # type: ignore[attr-defined]


def _find_instance(backend: SSOAdminBackend, instance_arn: str) -> Any:
    for instance in backend.instances:
        if instance.instance_arn == instance_arn:
            return instance
    raise ResourceNotFoundException(f"Could not find Instance with arn {instance_arn}")


def _find_permission_set_by_arn(backend: SSOAdminBackend, permission_set_arn: str) -> PermissionSet:
    for permission_set in backend.permission_sets:
        if permission_set.permission_set_arn == permission_set_arn:
            return permission_set
    ps_id = permission_set_arn.split("/")[-1]
    raise ResourceNotFoundException(f"Could not find PermissionSet with id {ps_id}")


def _assignment_exists(backend: SSOAdminBackend, permission_set_arn: str, account_id: str) -> bool:
    return any(
        a.permission_set_arn == permission_set_arn and a.target_id == account_id
        for a in backend.account_assignments
    )


def _provisioned_accounts(
    backend: SSOAdminBackend, permission_set: PermissionSet, provisioning_status: str | None
) -> list[str]:
    accounts = _state(backend).provisioned.get(permission_set.permission_set_arn, {})
    latest = _revision(permission_set)
    return [
        account
        for account, revision in accounts.items()
        if provisioning_status is None
        or (provisioning_status == "LATEST_PERMISSION_SET_PROVISIONED") == (revision == latest)
    ]


# --- permissions boundary --------------------------------------------------------------------


def _parse_boundary(boundary: Any) -> dict[str, Any]:
    if not isinstance(boundary, dict):
        raise ValidationException("PermissionsBoundary is required")
    managed = boundary.get("ManagedPolicyArn")
    reference = boundary.get("CustomerManagedPolicyReference")
    if (managed is None) == (reference is None):
        raise ValidationException(
            "PermissionsBoundary must have exactly one of ManagedPolicyArn or CustomerManagedPolicyReference"
        )
    if managed is not None:
        _check(_MANAGED_POLICY_ARN, managed, "permissionsBoundary.managedPolicyArn", 20, 2048)
        return {"ManagedPolicyArn": managed}
    if not isinstance(reference, dict):
        raise ValidationException("CustomerManagedPolicyReference must be a structure")
    name = _require(reference.get("Name"), "permissionsBoundary.customerManagedPolicyReference.name")
    _check(_POLICY_NAME, name, "permissionsBoundary.customerManagedPolicyReference.name", 1, 128)
    path = reference.get("Path") or "/"
    _check(_POLICY_PATH, path, "permissionsBoundary.customerManagedPolicyReference.path", 1, 512)
    return {"CustomerManagedPolicyReference": {"Name": name, "Path": path}}


def put_permissions_boundary_to_permission_set(
    self: SSOAdminBackend, instance_arn: str, permission_set_arn: str, permissions_boundary: Any
) -> None:
    _check_instance_arn(instance_arn)
    _check_permission_set_arn(permission_set_arn)
    boundary = _parse_boundary(permissions_boundary)
    permission_set = self._find_permission_set(instance_arn, permission_set_arn)
    permission_set.idc_permissions_boundary = boundary  # type: ignore[attr-defined]
    _bump_revision(self, instance_arn, permission_set_arn)


def get_permissions_boundary_for_permission_set(
    self: SSOAdminBackend, instance_arn: str, permission_set_arn: str
) -> dict[str, Any]:
    _check_instance_arn(instance_arn)
    _check_permission_set_arn(permission_set_arn)
    permission_set = self._find_permission_set(instance_arn, permission_set_arn)
    boundary = getattr(permission_set, "idc_permissions_boundary", None)
    if boundary is None:
        ps_id = permission_set_arn.split("/")[-1]
        raise ResourceNotFoundException(f"Could not find PermissionsBoundary for PermissionSet with id {ps_id}")
    return boundary


def delete_permissions_boundary_from_permission_set(
    self: SSOAdminBackend, instance_arn: str, permission_set_arn: str
) -> None:
    get_permissions_boundary_for_permission_set(self, instance_arn, permission_set_arn)
    permission_set = self._find_permission_set(instance_arn, permission_set_arn)
    permission_set.idc_permissions_boundary = None  # type: ignore[attr-defined]
    _bump_revision(self, instance_arn, permission_set_arn)


# --- ABAC (instance access control attribute configuration) ----------------------------------


def _parse_abac(configuration: Any) -> list[dict[str, Any]]:
    if not isinstance(configuration, dict) or not isinstance(
        configuration.get("AccessControlAttributes"), list
    ):
        raise ValidationException(
            "InstanceAccessControlAttributeConfiguration.AccessControlAttributes is required"
        )
    attributes = configuration["AccessControlAttributes"]
    if len(attributes) > 50:
        raise ValidationException(
            "1 validation error detected: Value at 'instanceAccessControlAttributeConfiguration."
            "accessControlAttributes' failed to satisfy constraint: Member must have length less than or equal to 50"
        )
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, attribute in enumerate(attributes, start=1):
        where = f"instanceAccessControlAttributeConfiguration.accessControlAttributes.{index}"
        if not isinstance(attribute, dict):
            raise ValidationException(f"{where} must be a structure")
        key = _require(attribute.get("Key"), f"{where}.member.key")
        _check(_ABAC_KEY, key, f"{where}.member.key", 1, 128)
        value = attribute.get("Value")
        sources = value.get("Source") if isinstance(value, dict) else None
        if not isinstance(sources, list) or len(sources) != 1:
            raise ValidationException(
                f"1 validation error detected: Value at '{where}.member.value.source' failed to satisfy "
                "constraint: Member must have length less than or equal to 1 and greater than or equal to 1"
            )
        _check(_ABAC_SOURCE, sources[0], f"{where}.member.value.source.1", 0, 256)
        if key in seen:
            raise ValidationException(f"Duplicate access control attribute key: {key}")
        seen.add(key)
        parsed.append({"Key": key, "Value": {"Source": [sources[0]]}})
    return parsed


def create_instance_access_control_attribute_configuration(
    self: SSOAdminBackend, instance_arn: str, configuration: Any
) -> None:
    _find_instance(self, _check_instance_arn(instance_arn))
    attributes = _parse_abac(configuration)
    state = _state(self)
    if instance_arn in state.abac:
        raise ConflictException(
            "Instance access control attribute configuration already exists for this instance"
        )
    state.abac[instance_arn] = attributes


def describe_instance_access_control_attribute_configuration(
    self: SSOAdminBackend, instance_arn: str
) -> dict[str, Any]:
    _find_instance(self, _check_instance_arn(instance_arn))
    attributes = _state(self).abac.get(instance_arn)
    if attributes is None:
        raise ResourceNotFoundException(
            "Instance access control attribute configuration does not exist for this instance"
        )
    return {
        "Status": "ENABLED",
        "InstanceAccessControlAttributeConfiguration": {
            "AccessControlAttributes": [
                {"Key": a["Key"], "Value": {"Source": list(a["Value"]["Source"])}}
                for a in attributes
            ]
        },
    }


def update_instance_access_control_attribute_configuration(
    self: SSOAdminBackend, instance_arn: str, configuration: Any
) -> None:
    describe_instance_access_control_attribute_configuration(self, instance_arn)
    _state(self).abac[instance_arn] = _parse_abac(configuration)


def delete_instance_access_control_attribute_configuration(
    self: SSOAdminBackend, instance_arn: str
) -> None:
    describe_instance_access_control_attribute_configuration(self, instance_arn)
    del _state(self).abac[instance_arn]


# --- tags ------------------------------------------------------------------------------------


def _tags_of(self: SSOAdminBackend, instance_arn: str | None, resource_arn: Any) -> list[dict[str, str]]:
    """The live tag list of a taggable resource (mutating it changes the resource's tags)."""
    _check(_TAGGABLE_ARN, _require(resource_arn, "resourceArn"), "resourceArn", 10, 2048)
    if instance_arn is not None:
        _find_instance(self, _check_instance_arn(instance_arn))
    if ":permissionSet/" in resource_arn:
        permission_set = _find_permission_set_by_arn(self, resource_arn)
        if instance_arn is not None and permission_set.instance_arn != instance_arn:
            ps_id = resource_arn.split("/")[-1]
            raise ResourceNotFoundException(f"Could not find PermissionSet with id {ps_id}")
        if not isinstance(permission_set.tags, list):
            permission_set.tags = []
        return permission_set.tags
    if ":instance/" in resource_arn:
        if instance_arn is not None and instance_arn != resource_arn:
            raise ResourceNotFoundException(f"Could not find Instance with arn {resource_arn}")
        _find_instance(self, resource_arn)
        return _state(self).instance_tags.setdefault(resource_arn, [])
    raise ResourceNotFoundException(f"Could not find resource with arn {resource_arn}")


def _parse_tags(tags: Any) -> list[dict[str, str]]:
    if not isinstance(tags, list) or len(tags) > 75:
        raise ValidationException(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            "Member must have length less than or equal to 75"
        )
    parsed = []
    for index, tag in enumerate(tags, start=1):
        if not isinstance(tag, dict):
            raise ValidationException(f"tags.{index} must be a structure")
        key = _require(tag.get("Key"), f"tags.{index}.member.key")
        value = tag.get("Value")
        if value is None:
            raise _null(f"tags.{index}.member.value")
        _check(_TAG_TEXT, key, f"tags.{index}.member.key", 1, 128)
        _check(_TAG_TEXT, value, f"tags.{index}.member.value", 0, 256)
        if key.lower().startswith("aws:"):
            raise ValidationException("Tag keys starting with 'aws:' are reserved for AWS use")
        parsed.append({"Key": key, "Value": value})
    return parsed


def tag_resource(self: SSOAdminBackend, instance_arn: str | None, resource_arn: str, tags: Any) -> None:
    new_tags = _parse_tags(tags)
    current = _tags_of(self, instance_arn, resource_arn)
    for tag in new_tags:
        for existing in current:
            if existing["Key"] == tag["Key"]:
                existing["Value"] = tag["Value"]
                break
        else:
            current.append(dict(tag))


def untag_resource(self: SSOAdminBackend, instance_arn: str | None, resource_arn: str, tag_keys: Any) -> None:
    if not isinstance(tag_keys, list) or not 1 <= len(tag_keys) <= 75:
        raise ValidationException(
            "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: "
            "Member must have length between 1 and 75"
        )
    for index, key in enumerate(tag_keys, start=1):
        _check(_TAG_TEXT, key, f"tagKeys.{index}.member", 1, 128)
    current = _tags_of(self, instance_arn, resource_arn)
    current[:] = [t for t in current if t["Key"] not in tag_keys]


@paginate(_PAGINATION_MODEL)
def idc_list_tags_for_resource(
    self: SSOAdminBackend, instance_arn: str | None, resource_arn: str
) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in _tags_of(self, instance_arn, resource_arn)]


# --- provisioning ----------------------------------------------------------------------------


def provision_permission_set(  # replaces moto's, which ignores the target
    self: SSOAdminBackend,
    instance_arn: str,
    permission_set_arn: str,
    target_type: str | None = None,
    target_id: str | None = None,
) -> dict[str, Any]:
    _check_instance_arn(instance_arn)
    _check_permission_set_arn(permission_set_arn)
    if target_type not in _PROVISION_TARGET_TYPES:
        raise ValidationException(
            f"1 validation error detected: Value '{target_type}' at 'targetType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(_PROVISION_TARGET_TYPES)}]"
        )
    if target_type == "AWS_ACCOUNT":
        _check_account_id(target_id, "targetId")
    elif target_id is not None:
        raise ValidationException("TargetId must not be given when TargetType is ALL_PROVISIONED_ACCOUNTS")
    permission_set = self._find_permission_set(instance_arn, permission_set_arn)
    state = _state(self)
    accounts = state.provisioned.setdefault(permission_set_arn, {})
    revision = _revision(permission_set)
    if target_id is not None:
        accounts[target_id] = revision
    else:
        for account in accounts:
            accounts[account] = revision
    status = _without_none(
        {
            "Status": "SUCCEEDED",
            "RequestId": str(random.uuid4()),
            "AccountId": target_id,
            "PermissionSetArn": permission_set_arn,
            "CreatedDate": unix_time(),
        }
    )
    state.provisioning_requests[(instance_arn, status["RequestId"])] = status
    return dict(status)


def describe_permission_set_provisioning_status(
    self: SSOAdminBackend, instance_arn: str, request_id: str
) -> dict[str, Any]:
    _check_instance_arn(instance_arn)
    _check(_UUID, _require(request_id, "provisionPermissionSetRequestId"), "provisionPermissionSetRequestId", 36, 36)
    status = _state(self).provisioning_requests.get((instance_arn, request_id))
    if status is None:
        raise ResourceNotFoundException(f"Could not find PermissionSetProvisioningStatus with id {request_id}")
    return dict(status)


@paginate(_PAGINATION_MODEL)
def idc_list_accounts_for_provisioned_permission_set(
    self: SSOAdminBackend, instance_arn: str, permission_set_arn: str, provisioning_status: str | None
) -> list[str]:
    _check_instance_arn(instance_arn)
    _check_permission_set_arn(permission_set_arn)
    permission_set = self._find_permission_set(instance_arn, permission_set_arn)
    return _provisioned_accounts(self, permission_set, provisioning_status)


@paginate(_PAGINATION_MODEL)
def idc_list_permission_sets_provisioned_to_account(
    self: SSOAdminBackend, instance_arn: str, account_id: str, provisioning_status: str | None
) -> list[str]:
    _check_instance_arn(instance_arn)
    _check_account_id(account_id, "accountId")
    return [
        ps.permission_set_arn
        for ps in self.permission_sets
        if ps.instance_arn == instance_arn
        and account_id in _provisioned_accounts(self, ps, provisioning_status)
    ]


# --- wrappers around moto's own operations ---------------------------------------------------


def _wrap_create_account_assignment(original: Any) -> Any:
    def create_account_assignment(self: SSOAdminBackend, **kwargs: Any) -> dict[str, Any]:
        key = (
            kwargs["instance_arn"],
            kwargs["target_id"],
            kwargs["target_type"],
            kwargs["permission_set_arn"],
            kwargs["principal_type"],
            kwargs["principal_id"],
        )
        for a in self.account_assignments:
            existing = (
                a.instance_arn,
                a.target_id,
                a.target_type,
                a.permission_set_arn,
                a.principal_type,
                a.principal_id,
            )
            if existing == key:
                if DUPLICATE_ASSIGNMENT_IS_CONFLICT:
                    raise ConflictException(
                        f"The {kwargs['principal_type']} {kwargs['principal_id']} is already assigned "
                        f"the permission set in account {kwargs['target_id']}"
                    )
                return a.to_json(include_creation_date=True, include_request_id=True)
        result = original(self, **kwargs)
        # An assignment provisions its permission set to the account (AWS does it as part of
        # CreateAccountAssignment); moto does not check the set exists, neither does this.
        for ps in self.permission_sets:
            if ps.permission_set_arn == kwargs["permission_set_arn"]:
                _state(self).provisioned.setdefault(ps.permission_set_arn, {})[kwargs["target_id"]] = _revision(ps)
        return result

    return create_account_assignment


def _wrap_delete_account_assignment(original: Any) -> Any:
    def delete_account_assignment(self: SSOAdminBackend, **kwargs: Any) -> dict[str, Any]:
        result = original(self, **kwargs)
        arn, account = kwargs["permission_set_arn"], kwargs["target_id"]
        if not _assignment_exists(self, arn, account):
            _state(self).provisioned.get(arn, {}).pop(account, None)
        return result

    return delete_account_assignment


def _wrap_describe_creation_status(original: Any) -> Any:
    def describe_account_assignment_creation_status(self: SSOAdminBackend, **kwargs: Any) -> dict[str, Any]:
        """AWS keeps a finished creation request's status after its assignment is deleted; moto
        looks the request up among the current assignments only, so a deleted one's creation
        status would be "not found" (and Terraform's waiter would poll it 20 more times)."""
        try:
            return original(self, **kwargs)
        except moto_exceptions.ResourceNotFoundException:
            wanted = kwargs.get("account_assignment_creation_request_id")
            for account in self.deleted_account_assignments:
                if account.request_id == wanted:
                    return account.to_json(include_creation_date=True, include_request_id=True)
            raise

    return describe_account_assignment_creation_status


def _wrap_delete_permission_set(original: Any) -> Any:
    def delete_permission_set(self: SSOAdminBackend, instance_arn: str, permission_set_arn: str) -> Any:
        result = original(self, instance_arn=instance_arn, permission_set_arn=permission_set_arn)
        _state(self).provisioned.pop(permission_set_arn, None)
        return result

    return delete_permission_set


def _wrap_revision_bump(original: Any) -> Any:
    """A write AWS pushes to accounts only on ProvisionPermissionSet: the set gets a new revision."""

    def write(self: SSOAdminBackend, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        _bump_revision(self, kwargs["instance_arn"], kwargs["permission_set_arn"])
        return result

    write.__name__ = original.__name__
    return write


# moto's response layer passes the number 3600 when SessionDuration is absent.
_MOTO_SESSION_DEFAULT = 3600


def _wrap_create_permission_set(original: Any) -> Any:
    def create_permission_set(self: SSOAdminBackend, **kwargs: Any) -> Any:
        if kwargs.get("session_duration") in (None, _MOTO_SESSION_DEFAULT):
            kwargs["session_duration"] = "PT1H"  # AWS's default; the model's type is a string
        return original(self, **kwargs)

    return create_permission_set


def _wrap_update_permission_set(original: Any) -> Any:
    def update_permission_set(self: SSOAdminBackend, **kwargs: Any) -> Any:
        """AWS leaves the members UpdatePermissionSet is not given unchanged; moto clears them."""
        permission_set = self._find_permission_set(kwargs["instance_arn"], kwargs["permission_set_arn"])
        if kwargs.get("session_duration") == _MOTO_SESSION_DEFAULT:
            kwargs["session_duration"] = None
        for member in ("description", "session_duration", "relay_state"):
            if kwargs.get(member) is None:
                kwargs[member] = getattr(permission_set, member)
        return original(self, **kwargs)

    return update_permission_set


# ---------------------------------------------------------------------------------------------
# Response handlers: same conventions as moto's SSOAdminResponse (self._get_param, JSON string).


def _backend(response: SSOAdminResponse) -> SSOAdminBackend:
    return response.ssoadmin_backend


def _r_put_permissions_boundary_to_permission_set(self: SSOAdminResponse) -> str:
    _backend(self).put_permissions_boundary_to_permission_set(
        instance_arn=self._get_param("InstanceArn"),
        permission_set_arn=self._get_param("PermissionSetArn"),
        permissions_boundary=self._get_param("PermissionsBoundary"),
    )
    return "{}"


def _r_get_permissions_boundary_for_permission_set(self: SSOAdminResponse) -> str:
    boundary = _backend(self).get_permissions_boundary_for_permission_set(
        instance_arn=self._get_param("InstanceArn"),
        permission_set_arn=self._get_param("PermissionSetArn"),
    )
    return _json({"PermissionsBoundary": boundary})


def _r_delete_permissions_boundary_from_permission_set(self: SSOAdminResponse) -> str:
    _backend(self).delete_permissions_boundary_from_permission_set(
        instance_arn=self._get_param("InstanceArn"),
        permission_set_arn=self._get_param("PermissionSetArn"),
    )
    return "{}"


def _r_create_instance_access_control_attribute_configuration(self: SSOAdminResponse) -> str:
    _backend(self).create_instance_access_control_attribute_configuration(
        instance_arn=self._get_param("InstanceArn"),
        configuration=self._get_param("InstanceAccessControlAttributeConfiguration"),
    )
    return "{}"


def _r_describe_instance_access_control_attribute_configuration(self: SSOAdminResponse) -> str:
    return _json(
        _backend(self).describe_instance_access_control_attribute_configuration(
            instance_arn=self._get_param("InstanceArn"),
        )
    )


def _r_update_instance_access_control_attribute_configuration(self: SSOAdminResponse) -> str:
    _backend(self).update_instance_access_control_attribute_configuration(
        instance_arn=self._get_param("InstanceArn"),
        configuration=self._get_param("InstanceAccessControlAttributeConfiguration"),
    )
    return "{}"


def _r_delete_instance_access_control_attribute_configuration(self: SSOAdminResponse) -> str:
    _backend(self).delete_instance_access_control_attribute_configuration(
        instance_arn=self._get_param("InstanceArn"),
    )
    return "{}"


def _r_tag_resource(self: SSOAdminResponse) -> str:
    _backend(self).tag_resource(
        instance_arn=self._get_param("InstanceArn"),
        resource_arn=self._get_param("ResourceArn"),
        tags=self._get_param("Tags"),
    )
    return "{}"


def _r_untag_resource(self: SSOAdminResponse) -> str:
    _backend(self).untag_resource(
        instance_arn=self._get_param("InstanceArn"),
        resource_arn=self._get_param("ResourceArn"),
        tag_keys=self._get_param("TagKeys"),
    )
    return "{}"


def _r_list_tags_for_resource(self: SSOAdminResponse) -> str:
    tags, next_token = _paginated(
        _backend(self).idc_list_tags_for_resource,
        instance_arn=self._get_param("InstanceArn"),
        resource_arn=self._get_param("ResourceArn"),
        next_token=self._get_param("NextToken"),
    )
    return _json(_without_none({"Tags": tags, "NextToken": next_token}))


def _r_provision_permission_set(self: SSOAdminResponse) -> str:
    status = _backend(self).provision_permission_set(
        instance_arn=self._get_param("InstanceArn"),
        permission_set_arn=self._get_param("PermissionSetArn"),
        target_type=self._get_param("TargetType"),
        target_id=self._get_param("TargetId"),
    )
    return _json({"PermissionSetProvisioningStatus": status})


def _r_describe_permission_set_provisioning_status(self: SSOAdminResponse) -> str:
    status = _backend(self).describe_permission_set_provisioning_status(
        instance_arn=self._get_param("InstanceArn"),
        request_id=self._get_param("ProvisionPermissionSetRequestId"),
    )
    return _json({"PermissionSetProvisioningStatus": status})


def _r_list_accounts_for_provisioned_permission_set(self: SSOAdminResponse) -> str:
    accounts, next_token = _paginated(
        _backend(self).idc_list_accounts_for_provisioned_permission_set,
        instance_arn=self._get_param("InstanceArn"),
        permission_set_arn=self._get_param("PermissionSetArn"),
        provisioning_status=_check_provisioning_status(self._get_param("ProvisioningStatus")),
        max_results=_check_max_results(self._get_param("MaxResults")),
        next_token=self._get_param("NextToken"),
    )
    return _json(_without_none({"AccountIds": accounts, "NextToken": next_token}))


def _r_list_permission_sets_provisioned_to_account(self: SSOAdminResponse) -> str:
    arns, next_token = _paginated(
        _backend(self).idc_list_permission_sets_provisioned_to_account,
        instance_arn=self._get_param("InstanceArn"),
        account_id=self._get_param("AccountId"),
        provisioning_status=_check_provisioning_status(self._get_param("ProvisioningStatus")),
        max_results=_check_max_results(self._get_param("MaxResults")),
        next_token=self._get_param("NextToken"),
    )
    return _json(_without_none({"PermissionSets": arns, "NextToken": next_token}))


def _json(value: Any) -> str:
    return json.dumps(value)


def _permission_set_arn_for(instance_arn: str) -> str:
    """AWS's form, arn:aws:sso:::permissionSet/ssoins-…/ps-… (moto: arn:aws:sso:::instance/ssoins-…/ps-…)."""
    partition, instance_id = instance_arn.split(":")[1], instance_arn.split("/")[-1]
    suffix = random.get_random_string(length=16, lower_case=True)
    return f"arn:{partition}:sso:::permissionSet/{instance_id}/ps-{suffix}"


# ---------------------------------------------------------------------------------------------


def _wrap_instance_init(original: Any) -> Any:
    """moto draws the identity store id from [a-z0-9]; AWS's is `d-` and ten hex digits."""

    def __init__(self: Any, account_id: str, region: str) -> None:
        original(self, account_id, region)
        self.identity_store_id = "d-" + random.get_random_hex(10)

    return __init__


def apply() -> None:
    """Patch moto's sso-admin backend and response classes. Idempotent."""
    global _APPLIED
    if _APPLIED:
        return
    _APPLIED = True
    moto_models.Instance.__init__ = _wrap_instance_init(moto_models.Instance.__init__)

    backend_methods = {
        "put_permissions_boundary_to_permission_set": put_permissions_boundary_to_permission_set,
        "get_permissions_boundary_for_permission_set": get_permissions_boundary_for_permission_set,
        "delete_permissions_boundary_from_permission_set": delete_permissions_boundary_from_permission_set,
        "create_instance_access_control_attribute_configuration": create_instance_access_control_attribute_configuration,
        "describe_instance_access_control_attribute_configuration": describe_instance_access_control_attribute_configuration,
        "update_instance_access_control_attribute_configuration": update_instance_access_control_attribute_configuration,
        "delete_instance_access_control_attribute_configuration": delete_instance_access_control_attribute_configuration,
        "tag_resource": tag_resource,
        "untag_resource": untag_resource,
        "idc_list_tags_for_resource": idc_list_tags_for_resource,
        "provision_permission_set": provision_permission_set,
        "describe_permission_set_provisioning_status": describe_permission_set_provisioning_status,
        "idc_list_accounts_for_provisioned_permission_set": idc_list_accounts_for_provisioned_permission_set,
        "idc_list_permission_sets_provisioned_to_account": idc_list_permission_sets_provisioned_to_account,
        "create_account_assignment": _wrap_create_account_assignment(SSOAdminBackend.create_account_assignment),
        "delete_account_assignment": _wrap_delete_account_assignment(SSOAdminBackend.delete_account_assignment),
        "describe_account_assignment_creation_status": _wrap_describe_creation_status(
            SSOAdminBackend.describe_account_assignment_creation_status
        ),
        "delete_permission_set": _wrap_delete_permission_set(SSOAdminBackend.delete_permission_set),
        "create_permission_set": _wrap_create_permission_set(SSOAdminBackend.create_permission_set),
        "update_permission_set": _wrap_update_permission_set(
            _wrap_revision_bump(SSOAdminBackend.update_permission_set)
        ),
    }
    for name in (
        "put_inline_policy_to_permission_set",
        "delete_inline_policy_from_permission_set",
        "attach_managed_policy_to_permission_set",
        "detach_managed_policy_from_permission_set",
        "attach_customer_managed_policy_reference_to_permission_set",
        "detach_customer_managed_policy_reference_from_permission_set",
    ):
        backend_methods[name] = _wrap_revision_bump(getattr(SSOAdminBackend, name))
    for name, method in backend_methods.items():
        setattr(SSOAdminBackend, name, method)
    PermissionSet.generate_id = staticmethod(_permission_set_arn_for)  # type: ignore[method-assign]

    response_methods = {
        "put_permissions_boundary_to_permission_set": _r_put_permissions_boundary_to_permission_set,
        "get_permissions_boundary_for_permission_set": _r_get_permissions_boundary_for_permission_set,
        "delete_permissions_boundary_from_permission_set": _r_delete_permissions_boundary_from_permission_set,
        "create_instance_access_control_attribute_configuration": _r_create_instance_access_control_attribute_configuration,
        "describe_instance_access_control_attribute_configuration": _r_describe_instance_access_control_attribute_configuration,
        "update_instance_access_control_attribute_configuration": _r_update_instance_access_control_attribute_configuration,
        "delete_instance_access_control_attribute_configuration": _r_delete_instance_access_control_attribute_configuration,
        "tag_resource": _r_tag_resource,
        "untag_resource": _r_untag_resource,
        "list_tags_for_resource": _r_list_tags_for_resource,
        "provision_permission_set": _r_provision_permission_set,
        "describe_permission_set_provisioning_status": _r_describe_permission_set_provisioning_status,
        "list_accounts_for_provisioned_permission_set": _r_list_accounts_for_provisioned_permission_set,
        "list_permission_sets_provisioned_to_account": _r_list_permission_sets_provisioned_to_account,
    }
    for name, method in response_methods.items():
        method.__name__ = name
        setattr(SSOAdminResponse, name, method)

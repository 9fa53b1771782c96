"""The customer managed policies that exist in member accounts, as far as a test says.

IAM Identity Center does not create the customer managed policies a permission set references
(nor one used as its permissions boundary): "You must instead create those policies in advance in
each account where you want to assign your permission set [...] IAM Identity Center fails to
assign the permission set if the policy doesn't exist in your member account." (IAM Identity
Center User Guide, "Use IAM policies in permission sets",
https://docs.aws.amazon.com/singlesignon/latest/userguide/howtocmp.html). The emulator has no
member accounts, so a test registers what each one holds (`POST /idc-guard/member-policies`,
gateway.py) and the sso-admin extension (idc_guard_moto.py) fails a provisioning to a registered
account that lacks a referenced policy. An account that is not registered holds every policy, so
nothing changes for a test that never registers one.

Nothing here knows about HTTP or moto. One registry per server, shared by the request threads.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_ACCOUNT_ID = re.compile(r"\d{12}")
# The CustomerManagedPolicyReference members' constraints (botocore's sso-admin 2020-07-20 model:
# ManagedPolicyName, ManagedPolicyPath).
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}")
_POLICY_PATH = re.compile(r"((/[A-Za-z0-9\.,\+@=_-]+)*)/")
_PATH_MAX = 512


class RegistryError(ValueError):
    """A registration that is not `{"accounts": {"<12-digit id>": ["<path><name>", ...] | null}}`."""


def policy_key(path: str | None, name: str) -> str:
    """How the registry names a policy: its path (default "/") followed by its name."""
    return f"{path or '/'}{name}"


def _parse_policy(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise RegistryError(f"a policy must be a non-empty string, not {value!r}")
    path, _, name = value.rpartition("/")
    path = f"{path}/" if path or value.startswith("/") else "/"
    if not _POLICY_NAME.fullmatch(name):
        raise RegistryError(f"{value!r}: the policy name must match {_POLICY_NAME.pattern}")
    if len(path) > _PATH_MAX or not _POLICY_PATH.fullmatch(path):
        raise RegistryError(f"{value!r}: the path must match {_POLICY_PATH.pattern}")
    return policy_key(path, name)


def _parse_accounts(body: Any) -> dict[str, frozenset[str] | None]:
    if not isinstance(body, dict) or set(body) != {"accounts"} or not isinstance(body["accounts"], dict):
        raise RegistryError('the body must be {"accounts": {"<account id>": ["<path><name>", ...]}}')
    parsed: dict[str, frozenset[str] | None] = {}
    for account, policies in body["accounts"].items():
        if not _ACCOUNT_ID.fullmatch(account):
            raise RegistryError(f"{account!r} is not a 12-digit account id")
        if policies is None:
            parsed[account] = None
        elif isinstance(policies, list):
            parsed[account] = frozenset(_parse_policy(p) for p in policies)
        else:
            raise RegistryError(f"the policies of {account} must be a list (or null to unregister it)")
    return parsed


class MemberPolicies:
    """Registered accounts and the customer managed policies each holds (`<path><name>`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, frozenset[str]] = {}

    def update(self, body: Any) -> None:
        """Applies a registration: each account given gets exactly the policies listed (null
        unregisters it); `{"accounts": {}}` clears the registry. Validates everything before
        changing anything."""
        parsed = _parse_accounts(body)
        with self._lock:
            if not parsed:
                self._accounts.clear()
            for account, policies in parsed.items():
                if policies is None:
                    self._accounts.pop(account, None)
                else:
                    self._accounts[account] = policies

    def clear(self) -> None:
        with self._lock:
            self._accounts.clear()

    def missing(self, account: str, required: list[str]) -> list[str]:
        """The policies of `required` (`<path><name>`, in order) that `account` lacks; none when
        the account is not registered."""
        with self._lock:
            held = self._accounts.get(account)
        if held is None:
            return []
        return [policy for policy in required if policy not in held]

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {"accounts": {account: sorted(held) for account, held in sorted(self._accounts.items())}}

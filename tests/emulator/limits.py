"""The emulator's limits mode: IAM Identity Center's request-rate and asynchronous-operation quotas.

The quota being emulated, as AWS published it (archived IAM Identity Center quotas page, limits.md,
December 2022; quoted in 61418/aws-sso-util#112):

    "IAM Identity Center APIs have a collective throttle maximum of 20 transactions per second
    (TPS). The CreateAccountAssignment has a maximum rate of 10 outstanding async calls. These
    quotas cannot be changed."

The newer account access manager quotas page (https://docs.aws.amazon.com/IAM/latest/UserGuide/
aam-quotas.html) also gives 20 TPS collective, and 15 outstanding asynchronous write calls for
that different API; the emulator follows the Identity Center figures. No separate figure is
published for the identity store API, so it draws from the same collective bucket as sso-admin:
one bucket for every caller of either service, whatever its access key ("collective").

Nothing here knows about HTTP: `gateway.py` asks these objects whether a request may proceed.
All of them are used under the gateway's one lock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# The message AWS's throttling layer sends with ThrottlingException.
RATE_EXCEEDED = "Rate exceeded"


class SettingsError(ValueError):
    """A limits setting of the wrong type or out of range."""


@dataclass
class Settings:
    """The limits mode's settings; off by default, so the emulator behaves as before."""

    enabled: bool = False
    # Requests per second refilled into the collective token bucket.
    rate: float = 20.0
    # The bucket's capacity; None: the same as the rate (one second's worth of requests).
    burst: float | None = None
    # Outstanding Create/DeleteAccountAssignment operations allowed per instance.
    outstanding: int = 10
    # How long an accepted assignment operation stays IN_PROGRESS.
    async_seconds: float = 1.0
    # Record CloudTrail records of Identity Center writes (see cloudtrail.py).
    cloudtrail: bool = False

    def capacity(self) -> float:
        return self.rate if self.burst is None else self.burst

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["burst"] = self.capacity()
        return values

    def update(self, changes: Any) -> bool:
        """Applies a JSON object of settings (any subset); true when the bucket must restart.

        Validates everything before changing anything, so a bad request leaves the settings as
        they were.
        """
        if not isinstance(changes, dict):
            raise SettingsError("the body must be a JSON object")
        unknown = sorted(set(changes) - set(asdict(self)))
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(unknown)}")
        checked = {name: _check(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)
        return bool({"enabled", "rate", "burst"} & set(checked))


def _check(name: str, value: Any) -> Any:
    if name in ("enabled", "cloudtrail"):
        if not isinstance(value, bool):
            raise SettingsError(f"{name} must be true or false")
        return value
    # bool is an int in Python; `"rate": true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SettingsError(f"{name} must be a number >= 0")
    if name == "outstanding":
        if value != int(value):
            raise SettingsError("outstanding must be a whole number")
        return int(value)
    return float(value)


class TokenBucket:
    """The collective request budget: `rate` tokens a second, at most `capacity` stored.

    It starts full, as an idle account's budget is.
    """

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.restart(rate, capacity, now)

    def restart(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def take(self, now: float) -> bool:
        """Takes one token if there is one."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class AssignmentOperations:
    """Accepted CreateAccountAssignment and DeleteAccountAssignment operations, per instance.

    An operation is outstanding from its acceptance until `async_seconds` (the setting current
    when asked, so a test can end every operation by setting it to 0) have passed. A slot is
    reserved before the request reaches moto, so concurrent requests cannot all pass the check
    and exceed the limit together; it becomes an operation when moto accepts the request, or is
    released when moto refuses it.
    """

    def __init__(self) -> None:
        # (kind "create"/"delete", request id) -> (instance ARN, accepted at)
        self._accepted: dict[tuple[str, str], tuple[str, float]] = {}
        # instance ARN -> slots reserved by requests moto has not answered yet
        self._reserved: dict[str, int] = {}

    def outstanding(self, instance: str, now: float, seconds: float) -> int:
        self._forget_finished(now, seconds)
        accepted = sum(1 for owner, _ in self._accepted.values() if owner == instance)
        return accepted + self._reserved.get(instance, 0)

    def reserve(self, instance: str, limit: int, now: float, seconds: float) -> bool:
        if self.outstanding(instance, now, seconds) >= limit:
            return False
        self._reserved[instance] = self._reserved.get(instance, 0) + 1
        return True

    def release(self, instance: str) -> None:
        left = self._reserved.get(instance, 0) - 1
        if left > 0:
            self._reserved[instance] = left
        else:
            self._reserved.pop(instance, None)

    def accept(self, kind: str, request_id: str, instance: str, now: float) -> None:
        self._accepted[(kind, request_id)] = (instance, now)

    def in_progress(self, kind: str, request_id: str, now: float, seconds: float) -> bool:
        accepted = self._accepted.get((kind, request_id))
        return accepted is not None and now < accepted[1] + seconds

    def clear(self) -> None:
        """Forgets accepted operations (after a reset their instance no longer exists)."""
        self._accepted.clear()

    def _forget_finished(self, now: float, seconds: float) -> None:
        finished = [key for key, (_, at) in self._accepted.items() if now >= at + seconds]
        for key in finished:
            del self._accepted[key]

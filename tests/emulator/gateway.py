"""A WSGI layer in front of moto: the limits mode, the request log, CloudTrail records, and the
services moto does not have.

Every request passes through `Gateway` before moto's DomainDispatcherApplication sees it. For
sso-admin and identitystore (awsJson1_1: the operation is in `X-Amz-Target`) it applies the
limits mode (limits.py) and records CloudTrail records (cloudtrail.py); every request to any
service is logged. Throttled or refused requests never reach moto, so they change nothing.

Account access manager (`account-access`, account_access.py) is answered here and never reaches
moto. The request is recognised by its SigV4 credential scope (`Credential=<key>/<date>/<region>/
account-access/aws4_request`, the model's signingName): against the emulator's one endpoint the
host name says nothing, and moto's dispatcher, which picks a backend by host and URL, has no
backend for it and would route `/applications` or `/tags/...` to another service's. Intercepting
here rather than registering a moto backend keeps the service out of moto's URL tables, and lets
it share the request log, the CloudTrail recorder and the reset with the rest. The limits mode
does not apply to it (its own 20 TPS quota is not emulated).

Runtime control, JSON over HTTP on the emulator's port:
  GET|POST /idc-guard/limits    the settings; POST takes any subset of
                                {"enabled", "rate", "burst", "outstanding", "async_seconds",
                                "cloudtrail"} and answers the settings after the change. Setting
                                enabled, rate or burst refills the bucket (a fresh budget).
  GET /idc-guard/requests?after=SEQ    {"requests": [{"seq", "t", "key", "service", "operation",
                                       "status", "throttled"}], "next": SEQ}: every request to
                                       any service after SEQ (0: all), oldest first; `t` is when
                                       it was answered (Unix seconds), `key` its access key. The
                                       emulator's own /moto-api/ and /idc-guard/ calls are not in it.
  GET /idc-guard/cloudtrail?after=SEQ  {"records": [{"seq", "record"}], "next": SEQ}
`next` is the last SEQ answered (or `after` when there is nothing new): the next call's `after`.
  GET|POST /idc-guard/member-policies  the customer managed policies member accounts hold
                                (member_policies.py): POST {"accounts": {"<account id>":
                                ["<path><name>", ...]}} gives each account listed exactly those
                                (a name without a path is under "/"; null unregisters the account),
                                {"accounts": {}} clears the registry; both answer the registry.
                                POST /moto-api/reset clears it too (it is state of the accounts).
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

import account_access
import cloudtrail
from limits import RATE_EXCEEDED, AssignmentOperations, Settings, SettingsError, TokenBucket
from member_policies import MemberPolicies

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# X-Amz-Target prefix -> the service's name in the request log.
_TARGETS = {"SWBExternalService": "sso-admin", "AWSIdentityStore": "identitystore"}
# The services the limits mode and the CloudTrail recording apply to.
IDENTITY_CENTER = ("sso-admin", "identitystore")
# Account access manager's signing name: answered by account_access.py, not moto.
ACCOUNT_ACCESS = "account-access"
# The SigV4 credential scope: Credential=<key>/<date>/<region>/<service>/aws4_request.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]*)/[^/]*/([^/]*)/([^/]*)/aws4_request")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class _Async:
    """An asynchronous assignment operation, or the status call that polls it."""

    kind: str  # "create" or "delete"
    status_member: str  # the response member holding the status
    request_id_member: str | None  # the Describe*Status request member naming the operation


_ASSIGNMENT_WRITES = {
    "CreateAccountAssignment": _Async("create", "AccountAssignmentCreationStatus", None),
    "DeleteAccountAssignment": _Async("delete", "AccountAssignmentDeletionStatus", None),
}
_ASSIGNMENT_STATUS_READS = {
    "DescribeAccountAssignmentCreationStatus": _Async(
        "create", "AccountAssignmentCreationStatus", "AccountAssignmentCreationRequestId"
    ),
    "DescribeAccountAssignmentDeletionStatus": _Async(
        "delete", "AccountAssignmentDeletionStatus", "AccountAssignmentDeletionRequestId"
    ),
}


@dataclass
class _Request:
    """What the gateway reads from a request before passing it on."""

    key: str
    region: str
    service: str
    operation: str
    body: bytes
    user_agent: str
    source_ip: str

    @staticmethod
    def read(environ: dict[str, Any]) -> _Request:
        credential = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        key, region, scope_service = credential.groups() if credential else ("", "", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, _, target_operation = target.partition(".")
        body = b""
        if target or environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            body = _read_body(environ)
        operation = target_operation or _query_action(environ, body)
        return _Request(
            key=key,
            region=region,
            service=_TARGETS.get(prefix, scope_service or "unknown"),
            operation=operation or f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}",
            body=body,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            source_ip=environ.get("REMOTE_ADDR", ""),
        )

    def params(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def _read_body(environ: dict[str, Any]) -> bytes:
    """Reads the body and puts it back, so moto reads it as if nothing had."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _query_action(environ: dict[str, Any], body: bytes) -> str:
    """The `Action` of a query-protocol request (SNS, STS, ...), from the body or the URL."""
    for text in (body.decode("utf-8", "replace"), environ.get("QUERY_STRING", "")):
        action = parse_qs(text).get("Action")
        if action:
            return action[0]
    return ""


@dataclass
class _Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def code(self) -> int:
        return int(self.status.split()[0])

    def json(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def with_json(self, value: dict[str, Any]) -> _Answer:
        body = json.dumps(value).encode()
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return _Answer(self.status, headers + [("Content-Length", str(len(body)))], body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def error(self) -> tuple[str, str] | None:
        """(code, message) of a failed answer, as awsJson1_1 carries them."""
        if self.code() < 400:
            return None
        parsed = self.json() or {}
        code = self.header("X-Amzn-ErrorType") or str(parsed.get("__type") or "")
        code = code.split(":")[0].split("#")[-1] or ("InternalServerException" if self.code() >= 500 else "")
        message = parsed.get("message") or parsed.get("Message") or ""
        return code or "UnknownError", str(message)


def _throttling(message: str) -> _Answer:
    """ThrottlingException as AWS's awsJson1_1 services send it."""
    body = json.dumps({"__type": "ThrottlingException", "message": message}).encode()
    return _Answer(
        "400 Bad Request",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("X-Amzn-ErrorType", "ThrottlingException"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
        body,
    )


class Gateway:
    """The WSGI middleware; one instance per server, shared by its request threads."""

    def __init__(
        self,
        app: WsgiApp,
        settings: Settings,
        principals: dict[str, cloudtrail.Principal],
        member_policies: MemberPolicies | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.principals = dict(principals)
        # Shared with the sso-admin extension, which reads it when it provisions.
        self.member_policies = member_policies if member_policies is not None else MemberPolicies()
        # moto's account: where every backend, so the Identity Center instance, lives.
        self.account = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
        self.lock = threading.Lock()
        self.bucket = TokenBucket(settings.rate, settings.capacity(), time.monotonic())
        self.operations = AssignmentOperations()
        self.requests: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.sessions: dict[str, str] = {}  # access key -> its session's creationDate
        self.account_access = account_access.AccountAccess(self.account, account_access.moto_instance_exists)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/idc-guard/"):
            return self._respond(self._control(environ, path), start_response)
        if path.startswith("/moto-api") or path == "/favicon.ico":
            if path.startswith("/moto-api/reset"):
                with self.lock:
                    self.operations.clear()
                self.member_policies.clear()
                self.account_access.clear()
            return self.app(environ, start_response)
        request = _Request.read(environ)
        if request.service in IDENTITY_CENTER:
            return self._respond(self._identity_center(request, environ), start_response)
        if request.service == ACCOUNT_ACCESS:
            return self._respond(self._account_access(request, environ), start_response)
        return self._pass_through(request, environ, start_response)

    # --- services ----------------------------------------------------------------------------

    def _pass_through(
        self, request: _Request, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        logged = False

        def logging_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal logged
            if not logged:
                logged = True
                self._log(request, int(status.split()[0]), throttled=False)
            return start_response(status, headers, exc_info)

        return self.app(environ, logging_start_response)

    def _identity_center(self, request: _Request, environ: dict[str, Any]) -> _Answer:
        params = request.params()
        instance = str(params.get("InstanceArn") or "")
        with self.lock:
            settings = replace(self.settings)
            refusal = self._admit(request, instance, settings)
        if refusal is not None:
            answer = _throttling(refusal)
        else:
            try:
                answer = self._forward(environ)
            except BaseException:
                if settings.enabled and request.operation in _ASSIGNMENT_WRITES:
                    with self.lock:
                        self.operations.release(instance)
                raise
            if settings.enabled:
                answer = self._track(request, params, instance, answer, settings)
        self._log(request, answer.code(), throttled=refusal is not None)
        if settings.cloudtrail and cloudtrail.is_recorded(request.service, request.operation):
            self._record(request, params, answer)
        return answer

    def _account_access(self, request: _Request, environ: dict[str, Any]) -> _Answer:
        """Account access manager (restJson1): answered by account_access.py, logged, and
        recorded in CloudTrail when the recording is on."""
        call = account_access.Call(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", ""),
            query=environ.get("QUERY_STRING", ""),
            body=_read_body(environ),
            region=request.region or "us-east-1",
        )
        handled = self.account_access.handle(call)
        reply = handled.reply
        payload = reply.payload()
        headers = reply.headers(str(uuid.uuid4())) + [("Content-Length", str(len(payload)))]
        answer = _Answer(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers, payload)
        request = replace(request, operation=handled.operation)
        self._log(request, reply.status, throttled=False)
        with self.lock:
            recording = self.settings.cloudtrail
        if recording and cloudtrail.is_recorded(request.service, request.operation):
            self._record(request, handled.params, answer)
        return answer

    def _admit(self, request: _Request, instance: str, settings: Settings) -> str | None:
        """Under the lock: why the request is refused, or None (a slot reserved if it needs one)."""
        if not settings.enabled:
            return None
        now = time.monotonic()
        if not self.bucket.take(now):
            return RATE_EXCEEDED
        if request.operation in _ASSIGNMENT_WRITES and not self.operations.reserve(
            instance, settings.outstanding, now, settings.async_seconds
        ):
            return (
                f"Rate exceeded: at most {settings.outstanding} outstanding account assignment "
                "operations (CreateAccountAssignment, DeleteAccountAssignment) per instance"
            )
        return None

    def _forward(self, environ: dict[str, Any]) -> _Answer:
        """moto's answer, buffered (Identity Center answers are small JSON documents)."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return _Answer(captured["status"], captured["headers"], body)

    def _track(
        self, request: _Request, params: dict[str, Any], instance: str, answer: _Answer, settings: Settings
    ) -> _Answer:
        """Limits mode: asynchronous assignment operations answer IN_PROGRESS while outstanding."""
        write = _ASSIGNMENT_WRITES.get(request.operation)
        status_read = _ASSIGNMENT_STATUS_READS.get(request.operation)
        spec = write or status_read
        if spec is None:
            return answer
        body = answer.json() if answer.code() == 200 else None
        status = body.get(spec.status_member) if body else None
        request_id = str(status.get("RequestId") or "") if isinstance(status, dict) else ""
        now = time.monotonic()
        with self.lock:
            if write is not None:
                self.operations.release(instance)
                if request_id:
                    self.operations.accept(write.kind, request_id, instance, now)
            elif status_read is not None and status_read.request_id_member:
                request_id = str(params.get(status_read.request_id_member) or "")
            in_progress = bool(request_id) and self.operations.in_progress(
                spec.kind, request_id, now, settings.async_seconds
            )
        if body is None or not isinstance(status, dict) or not in_progress:
            return answer
        status["Status"] = "IN_PROGRESS"
        # The outcome, and so a failure's reason, is not known while the operation runs.
        status.pop("FailureReason", None)
        return answer.with_json(body)

    def assignment_in_progress(self, kind: str, request_id: str) -> bool:
        """Whether the limits mode holds an accepted assignment operation ("create" or "delete")
        IN_PROGRESS now. The sso-admin extension asks, so that its status listings say what the
        answers this layer rewrites say. Called from moto's handling of a request, which never
        runs under the lock."""
        with self.lock:
            if not self.settings.enabled:
                return False
            return self.operations.in_progress(kind, request_id, time.monotonic(), self.settings.async_seconds)

    # --- the request log and CloudTrail ------------------------------------------------------

    def _log(self, request: _Request, status: int, throttled: bool) -> None:
        with self.lock:
            self.requests.append(
                {
                    "seq": len(self.requests) + 1,
                    "t": time.time(),
                    "key": request.key,
                    "service": request.service,
                    "operation": request.operation,
                    "status": status,
                    "throttled": throttled,
                }
            )

    def _record(self, request: _Request, params: dict[str, Any], answer: _Answer) -> None:
        error = answer.error()
        response = None if error else answer.json()
        now = datetime.now(timezone.utc)
        call = cloudtrail.Call(
            service=request.service,
            operation=request.operation,
            access_key=request.key,
            region=request.region,
            source_ip=request.source_ip,
            user_agent=request.user_agent,
            request=params,
            response=response,
            request_id=_request_id(answer, response),
            error=error,
        )
        with self.lock:
            principal = self.principals.get(request.key) or cloudtrail.Principal.unknown(request.key, self.account)
            created = self.sessions.setdefault(request.key, cloudtrail.iso(now))
            entry = cloudtrail.record(call, principal.user_identity(request.key, created), self.account, now)
            self.records.append({"seq": len(self.records) + 1, "record": entry})

    # --- control endpoints -------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], path: str) -> _Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/idc-guard/limits" and method in ("GET", "POST"):
            return self._limits(environ if method == "POST" else None)
        if path in ("/idc-guard/requests", "/idc-guard/cloudtrail") and method == "GET":
            after = query.get("after", ["0"])[0]
            if not after.isdigit():
                return _json_answer(400, {"error": "after must be a whole number"})
            with self.lock:
                entries = self.requests if path.endswith("requests") else self.records
                page = entries[int(after) :]
            name = "requests" if path.endswith("requests") else "records"
            return _json_answer(200, {name: page, "next": page[-1]["seq"] if page else int(after)})
        if path == "/idc-guard/member-policies" and method in ("GET", "POST"):
            return self._member_policies(environ if method == "POST" else None)
        return _json_answer(404, {"error": f"no {method} {path}"})

    def _member_policies(self, environ: dict[str, Any] | None) -> _Answer:
        if environ is not None:
            try:
                self.member_policies.update(json.loads(_read_body(environ) or b"{}"))
            except ValueError as error:  # a JSON error, or a RegistryError
                return _json_answer(400, {"error": str(error)})
        return _json_answer(200, self.member_policies.as_json())

    def _limits(self, environ: dict[str, Any] | None) -> _Answer:
        with self.lock:
            if environ is not None:
                try:
                    changes = json.loads(_read_body(environ) or b"{}")
                    trial = replace(self.settings)
                    restart = trial.update(changes)
                except (ValueError, SettingsError) as error:
                    return _json_answer(400, {"error": str(error)})
                self.settings = trial
                if restart:
                    self.bucket.restart(trial.rate, trial.capacity(), time.monotonic())
            return _json_answer(200, self.settings.as_json())

    @staticmethod
    def _respond(answer: _Answer, start_response: StartResponse) -> Iterable[bytes]:
        start_response(answer.status, answer.headers)
        return [answer.body]


def _request_id(answer: _Answer, response: dict[str, Any] | None) -> str:
    """The request id CloudTrail shows: an assignment operation's own (as the sourced records
    have it), else the answer's header, else a fresh one."""
    for member in ("AccountAssignmentCreationStatus", "AccountAssignmentDeletionStatus"):
        status = (response or {}).get(member)
        if isinstance(status, dict) and status.get("RequestId"):
            return str(status["RequestId"])
    header = answer.header("x-amzn-RequestId") or ""
    # moto's own request ids are random strings; AWS's are UUIDs.
    return header if _UUID.fullmatch(header) else str(uuid.uuid4())


def _json_answer(code: int, value: Any) -> _Answer:
    body = json.dumps(value).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[code]
    return _Answer(
        f"{code} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        body,
    )

"""A loopback Hanzo KMS (Infisical) instance: Universal Auth, projects, the Azure DevOps App
Connections API (the kms-api.md reference, §1, §2, §4) and the Azure DevOps Secret Syncs with their
jobs (issue 19: kms_syncs.py, kms_sync_jobs.py), over plain HTTP or HTTPS.

Like the real server it checks a new connection's credentials itself, by calling Entra ID and
Azure DevOps: here the Entra and Azure DevOps simulators, over HTTPS from the handler thread.
Every error answer is `{reqId, statusCode, message, error}`; a 422's message is a list of Zod
issues. State lives in a `KmsWorld`; the lock is not held while the instance calls out. The calls
out are in kms_azure_checks.py, the request validation in kms_validation.py.
"""

from __future__ import annotations

import json
import secrets
import ssl
import string
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from .kms_azure_checks import AzureCredentialChecks
from .kms_older import OlderInstanceRoutes
from .kms_rules import (
    EXPIRED,
    LOCKED_OUT,
    KmsError,
    bad_request,
    check_token_signature,
    forbidden_route,
    invalid,
    is_uuid,
    mint_token,
    not_found,
    options,
    permission_denied,
    project_item,
    sanitize,
    token_answer,
    unauthorized,
)
from .kms_sync_jobs import SyncJobRunner
from .kms_syncs import SecretSyncRoutes
from .kms_validation import project_type, string_field, update_credentials, validate_create, validate_update
from .kms_world import (
    AZURE_DEVOPS,
    LOCKOUT_THRESHOLD,
    KmsConnection,
    KmsIdentity,
    KmsToken,
    KmsWorld,
    new_id,
    now_utc,
)
from .server import RecordedRequest, Response, SimServer, json_response
from .tls import TlsFiles
from .world import World

_REQ_ALPHABET = string.ascii_letters + string.digits
_Json = dict[str, Any]


def _req_id() -> str:
    return "req-" + "".join(secrets.choice(_REQ_ALPHABET) for _ in range(14))


class KmsSimulator(OlderInstanceRoutes, SecretSyncRoutes, SyncJobRunner, AzureCredentialChecks, SimServer):
    def __init__(
        self,
        kms_world: KmsWorld,
        world: World,
        *,
        entra_url: str,
        devops_url: str,
        ca_bundle: Path | None,
        tls: TlsFiles | None = None,
    ) -> None:
        super().__init__(tls)
        self.kms_world = kms_world
        self.world = world  # the Azure side (read by the Entra / Azure DevOps simulators, not here)
        self.entra_url = entra_url.rstrip("/")
        self.devops_url = devops_url.rstrip("/")
        self.ca_bundle = ca_bundle
        self._http: httpx.Client | None = None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        verify: ssl.SSLContext | bool = True
        if self.ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(self.ca_bundle))
        self._http = httpx.Client(verify=verify, timeout=15, follow_redirects=False, trust_env=False)
        try:
            super().start()
        except BaseException:
            self._http.close()
            raise
        self._start_job_worker()

    def stop(self) -> None:
        self._stop_job_worker()
        super().stop()
        if self._http is not None:
            self._http.close()

    # --- routing ---------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Response:
        try:
            return json_response(200, self._route(request))
        except KmsError as exc:
            body = {"statusCode": exc.status, "message": exc.message, "error": exc.error}
            if not self.kms_world.september_2024:  # whose answers carried no reqId (kms_older.py)
                body = {"reqId": _req_id(), **body}
            return json_response(exc.status, body)

    def _route(self, request: RecordedRequest) -> _Json:
        parts = [unquote(p) for p in request.path.split("/") if p]
        method = request.method
        if (
            method == "GET"
            and len(parts) == 5
            and parts[:3] == ["api", "v2", "organizations"]
            and parts[4] == "workspaces"
        ):
            return self._org_workspaces(request, parts[3])
        if parts[:2] != ["api", "v1"]:
            raise self._no_route(request)
        route = parts[2:]
        if method == "POST" and route == ["auth", "universal-auth", "login"]:
            return self._login(request)
        if method == "POST" and route in (["auth", "token", "renew"], ["auth", "token", "revoke"]):
            return self._renew_or_revoke(request, route[2])
        if self._absent(route):
            raise self._no_route(request)
        if method == "GET" and route in (["projects"], ["workspace"]):
            if route == ["projects"] and self.kms_world.legacy_projects_route:
                raise self._no_route(request)
            if route == ["workspace"] and self.kms_world.september_2024:
                self._workspace_refused(request)
            return self._projects(request, route[0])
        if route[:2] == ["secret-syncs", AZURE_DEVOPS]:
            return self._secret_syncs(request, method, route[2:])
        if route[:1] != ["app-connections"]:
            raise self._no_route(request)
        rest = route[1:]
        if method == "GET" and rest == ["options"]:
            self._identity(request)
            kind = project_type(request.query)
            with self.kms_world.lock:
                return {"appConnectionOptions": options(self.kms_world, kind)}
        if method == "GET" and rest == []:
            return {"appConnections": self._list(request, None)}
        if rest[:1] != [AZURE_DEVOPS]:
            raise self._no_route(request)
        return self._devops_route(request, method, rest[1:])

    def _devops_route(self, request: RecordedRequest, method: str, rest: list[str]) -> _Json:
        if method == "GET" and rest == []:
            return {"appConnections": self._list(request, AZURE_DEVOPS)}
        if method == "GET" and rest == ["available"]:
            keep = ("app", "name", "id", "projectId", "orgId")
            return {"appConnections": [{k: c[k] for k in keep} for c in self._list(request, AZURE_DEVOPS)]}
        if method == "GET" and len(rest) == 2 and rest[0] == "connection-name":
            return {"appConnection": self._by_name(request, rest[1])}
        if method == "POST" and rest == []:
            return {"appConnection": self._create(request)}
        if len(rest) == 2 and rest[1] == "projects" and method == "GET":
            self._identity(request)  # a service token gets its own 403 first
            raise forbidden_route(request.path)  # JWT (user) only: machine identities are refused
        if len(rest) != 1 or method not in ("GET", "PATCH", "DELETE"):
            raise self._no_route(request)
        identity = self._identity(request)
        connection_id = rest[0]
        if not is_uuid(connection_id):
            raise invalid(
                [{"validation": "uuid", "code": "invalid_string", "message": "Invalid uuid", "path": ["connectionId"]}]
            )
        if method == "PATCH":
            return {"appConnection": self._update(request, identity, connection_id)}
        with self.kms_world.lock:
            conn = self._connection(identity, connection_id, "read" if method == "GET" else "delete")
            if method == "DELETE":
                if conn.in_use or any(s.connection_id == conn.id for s in self.kms_world.syncs.values()):
                    raise bad_request(
                        "Cannot delete App Connection with existing connections. Remove all "
                        "existing connections and try again."
                    )
                del self.kms_world.connections[conn.id]
            return {"appConnection": sanitize(self.kms_world, conn)}

    @staticmethod
    def _body(request: RecordedRequest) -> Any:
        if not request.body:
            return None
        try:
            return json.loads(request.body)
        except ValueError:
            raise bad_request("Body is not valid JSON but content-type is set to 'application/json'") from None

    # --- authentication --------------------------------------------------------------------------
    def _login(self, request: RecordedRequest) -> _Json:
        body = self._body(request)
        issues: list[_Json] = []
        if not isinstance(body, dict):
            body = {}
        client_id = string_field(body, "clientId", [], issues)
        secret = string_field(body, "clientSecret", [], issues)
        slug = string_field(body, "organizationSlug", [], issues, optional=True)
        if issues:
            raise invalid(issues)
        world = self.kms_world
        with world.lock:
            identity = world.identities.get(client_id or "")
            if slug is not None and slug != world.org_slug:
                raise bad_request(f"Organization with slug '{slug}' not found")
            if identity is None:
                raise unauthorized("Invalid credentials")
            if identity.locked:
                raise KmsError(401, "UnauthorizedError", LOCKED_OUT)  # upstream answers a lockout with a 401
            if not secrets.compare_digest(identity.client_secret.encode(), (secret or "").encode()):
                identity.failed_logins += 1
                identity.locked = identity.failed_logins >= LOCKOUT_THRESHOLD
                raise unauthorized("Invalid credentials")
            identity.failed_logins = 0
            token = mint_token(world, identity)
            expires_at = _expiry(identity.access_token_ttl)
            world.tokens[token] = KmsToken(identity.client_id, expires_at)
            return token_answer(token, identity, expires_at)

    def _renew_or_revoke(self, request: RecordedRequest, action: str) -> _Json:
        body = self._body(request)
        issues: list[_Json] = []
        token = string_field(body if isinstance(body, dict) else {}, "accessToken", [], issues)
        if issues:
            raise invalid(issues)
        world = self.kms_world
        with world.lock:
            identity, entry = self._token(token or "")
            if action == "revoke":
                del world.tokens[token or ""]
                return {"message": "Successfully revoked access token"}
            entry.expires_at = _expiry(identity.access_token_ttl)
            return token_answer(token or "", identity, entry.expires_at)

    def _token(self, token: str) -> tuple[KmsIdentity, KmsToken]:
        world = self.kms_world
        check_token_signature(world, token)
        entry = world.tokens.get(token)
        identity = world.identities.get(entry.client_id) if entry else None
        if entry is None or identity is None:
            raise unauthorized("Failed to authorize revoked access token, access token is revoked")
        if entry.expires_at <= time.time():
            raise KmsError(403, "TokenError", EXPIRED)
        return identity, entry

    def _identity(self, request: RecordedRequest) -> KmsIdentity:
        """inject-identity + verifyAuth for routes that take user JWTs and identity tokens."""
        if "x-api-key" in request.headers:
            raise bad_request(
                "API key authentication is not supported anymore. Please switch to identity authentication."
            )
        header = request.headers.get("authorization")
        if not header:
            raise unauthorized("Token missing")
        token = header[7:]  # "Bearer " is dropped without looking at it, as the real server does
        with self.kms_world.lock:
            if token.startswith("st."):
                if token in self.kms_world.service_tokens:
                    raise forbidden_route(request.path)
                raise unauthorized("Failed to authorize service token")
            return self._token(token)[0]

    # --- projects and options --------------------------------------------------------------------
    def _projects(self, request: RecordedRequest, route: str) -> _Json:
        identity = self._identity(request)
        kind = project_type(request.query)
        world = self.kms_world
        with world.lock:
            visible = world.visible_project_ids(identity)
            items = [
                project_item(world, p) for p in world.projects.values() if p.id in visible and kind in (None, p.type)
            ]
        return {"projects" if route == "projects" else "workspaces": items}

    # --- connections -----------------------------------------------------------------------------
    def _may(self, identity: KmsIdentity, project_id: str | None) -> bool:
        return identity.org_permission or (project_id is not None and project_id in identity.project_ids)

    def _check_project(self, identity: KmsIdentity, project_id: str | None, action: str) -> None:
        if project_id is not None and project_id not in self.kms_world.projects:
            raise bad_request(f"Could not find project with ID {project_id}")
        if not self._may(identity, project_id):
            raise permission_denied(action)

    def _list(self, request: RecordedRequest, app: str | None) -> list[_Json]:
        identity = self._identity(request)
        project_id = request.query.get("projectId") or None
        world = self.kms_world
        with world.lock:
            self._check_project(identity, project_id, "read")
            rows = [
                c
                for c in world.connections.values()
                if (app is None or c.app == app) and (project_id is None or c.project_id == project_id)
            ]
            return [sanitize(world, c) for c in sorted(rows, key=lambda c: c.name)]

    def _by_name(self, request: RecordedRequest, name: str) -> _Json:
        identity = self._identity(request)
        project_id = request.query.get("projectId") or None
        with self.kms_world.lock:
            self._check_project(identity, project_id, "read")
            for conn in self.kms_world.connections.values():
                if conn.app == AZURE_DEVOPS and conn.name == name and conn.project_id == project_id:
                    return sanitize(self.kms_world, conn)
        scope = "project" if project_id else "organization"
        raise not_found(f"Could not find App Connection with name {name} in {scope} scope.")

    def _connection(self, identity: KmsIdentity, connection_id: str, action: str) -> KmsConnection:
        conn = self.kms_world.connections.get(connection_id)
        if conn is None:
            raise not_found(f"Could not find App Connection with ID {connection_id}")
        if not self._may(identity, conn.project_id):
            raise permission_denied(action)
        if conn.app != AZURE_DEVOPS:
            raise bad_request(f'App Connection with ID {connection_id} is not for App "{AZURE_DEVOPS}"')
        return conn

    def _duplicate(self, name: str, project_id: str | None, other_than: str | None = None) -> None:
        for conn in self.kms_world.connections.values():
            if conn.name == name and conn.project_id == project_id and conn.id != other_than:
                raise bad_request(f'An App Connection with the name "{name}" already exists')

    def _create(self, request: RecordedRequest) -> _Json:
        identity = self._identity(request)
        body = validate_create(self._body(request))
        world = self.kms_world
        with world.lock:
            self._check_project(identity, body["projectId"], "create")
        # Like the real service, the credentials are checked (an OAuth code redeemed) before the
        # insert, whose unique constraint is what reports a duplicate name.
        stored = self._validate(body["method"], body["credentials"])
        with world.lock:
            self._duplicate(body["name"], body["projectId"])
            conn = KmsConnection(new_id(), body["name"], body["description"], body["projectId"], body["method"], stored)
            world.connections[conn.id] = conn
            return sanitize(world, conn)

    def _update(self, request: RecordedRequest, identity: KmsIdentity, connection_id: str) -> _Json:
        body = validate_update(self._body(request))
        world = self.kms_world
        with world.lock:
            conn = self._connection(identity, connection_id, "edit")
            method = conn.method
            creds = update_credentials(method, body["credentials"]) if "credentials" in body else None
        stored = self._validate(method, creds) if creds is not None else None
        with world.lock:
            conn = self._connection(identity, connection_id, "edit")  # still there after the calls out
            if "name" in body:
                self._duplicate(body["name"], conn.project_id, conn.id)
                conn.name = body["name"]
            if "description" in body:
                conn.description = body["description"]
            if stored is not None:
                conn.credentials = stored
            conn.version += 1
            conn.updated_at = now_utc()
            return sanitize(world, conn)


def _expiry(ttl: int) -> float:
    return time.time() + ttl if ttl > 0 else float("inf")  # a TTL of 0: the token never expires

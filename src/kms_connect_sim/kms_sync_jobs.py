"""The KMS simulator's Secret Sync jobs (issue 19): what the real server's queue worker does for an
Azure DevOps sync, with the connection's stored credentials, against the Azure DevOps and Entra ID
simulators (Infisical's `azure-devops-sync-fns.ts` and `secret-sync-queue.ts`):

- it gets a token: a PAT is sent as Basic; a client secret's token is reused until 5 minutes before
  it expires, then a new one is asked for (client credentials); an OAuth connection's refresh token
  is redeemed on every job;
- it lists the destination project's variable groups and looks for the one named after the
  environment's display name (exactly); it creates it when missing (the organization-level POST),
  otherwise it replaces its name, description and whole variable set (PUT): every variable secret;
- a remove job deletes that group from the project (`?projectIds=`);
- a failure becomes `lastSyncMessage` as `parseSyncErrorMessage` writes it: the failed call's answer
  body as compact JSON (JSON.stringify), else the error's own message, cut to 1024 characters
  ("..." ending the cut); `lastSyncedAt` is written on success only.

How jobs run is `KmsWorld.sync_jobs` (kms_world.JOB_MODES): "manual" (tests call `start_jobs()`,
which moves queued jobs to running so the sync's lock is held, and `run_jobs()`, which runs them
to the end), "on-poll" (each read of one sync, by id or name, moves its jobs one step; a listing
does not), "auto" (a worker thread, `job_delay` seconds per step: the demo; `wait_for_jobs()`
waits for them, bounded). Simplified: one attempt per job (the real queue retries
a failed call a few times with backoff, keeping the status "running" meanwhile).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from .kms_azure_checks import ADO_SCOPE, AXIOS_ACCEPT
from .kms_world import KmsWorld, SyncJob, now_utc

MAX_MESSAGE = 1024  # parseSyncErrorMessage's MAX_MESSAGE_LENGTH
API = "api-version=7.1"
TOKEN_MARGIN_MS = 300_000  # a client secret's token is reused until 5 minutes before it expires


class _Failed(Exception):
    """A job's failure, worded as the real server words it."""


@dataclass
class _Plan:
    """What a job needs, copied under the world's lock; its calls out run without it."""

    action: str
    connection_id: str
    method: str
    credentials: dict[str, Any]
    org: str
    devops_project_id: str
    group_name: str  # the environment's display name
    variables: dict[str, str] = field(default_factory=dict)
    oauth_client: tuple[str | None, str | None] = (None, None)


def sync_message(error: str) -> str:
    """lastSyncMessage: at most 1024 characters, a cut one ending in "..."."""
    return error if len(error) <= MAX_MESSAGE else error[: MAX_MESSAGE - 3] + "..."


def _axios_message(answer: httpx.Response) -> str:
    """An axios error's message as the sync queue keeps it: its response body as JSON.stringify
    writes it (compact, non-ASCII kept), else axios' own "Request failed with status code N"."""
    try:
        data: Any = answer.json()
    except ValueError:
        data = answer.text
    if data in ("", None):
        return f"Request failed with status code {answer.status_code}"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class SyncJobRunner:
    """The job runner; `KmsSimulator` provides the world, the HTTP client and the URLs."""

    kms_world: KmsWorld
    devops_url: str
    entra_url: str
    _http: httpx.Client | None

    # --- for tests, and the life cycle -----------------------------------------------------------
    def start_jobs(self) -> int:
        """Queued jobs start (status running, the sync's lock held), without ending. Returns how many."""
        world = self.kms_world
        with world.lock:
            started = [job for job in list(world.jobs) if job.state == "queued" and self._start(job)]
        return len(started)

    def run_jobs(self) -> int:
        """Every queued or running job runs to its end now (calls to the simulators included).
        Returns how many ended."""
        self.start_jobs()
        with self.kms_world.lock:
            running = [job for job in self.kms_world.jobs if job.state == "running"]
        return sum(1 for job in running if self._finish(job))

    def wait_for_jobs(self, timeout: float) -> bool:
        """Waits (at most `timeout` seconds) until no job is queued or running: for a test of the
        "auto" mode. True when they all ended."""
        with self._jobs_done:
            return self._jobs_done.wait_for(lambda: not self._pending_jobs(), timeout)

    def _start_job_worker(self) -> None:
        self._jobs_stop, self._jobs_wake = threading.Event(), threading.Event()
        self._jobs_done = threading.Condition(self.kms_world.lock)  # told of every job's end
        self._jobs_thread: threading.Thread | None = None
        if self.kms_world.sync_jobs == "auto":
            self._jobs_wake.set()  # jobs seeded before the start run too
            self._jobs_thread = threading.Thread(target=self._job_worker, name="kms-sync-jobs", daemon=True)
            self._jobs_thread.start()

    def _stop_job_worker(self) -> None:
        if getattr(self, "_jobs_thread", None) is None:
            return
        self._jobs_stop.set()
        self._jobs_wake.set()
        assert self._jobs_thread is not None
        self._jobs_thread.join(15)  # at most one job's calls out, each bounded by the client's timeout

    def _jobs_changed(self) -> None:
        """A route queued or dropped jobs: the worker looks, and whoever waits is told."""
        with self._jobs_done:
            self._jobs_done.notify_all()
        if self._jobs_thread is not None:
            self._jobs_wake.set()

    def _job_worker(self) -> None:
        delay = self.kms_world.job_delay
        while True:
            self._jobs_wake.wait()
            if self._jobs_stop.is_set():
                return
            self._jobs_wake.clear()
            while self._pending_jobs():
                if self._jobs_stop.wait(delay):
                    return
                self.start_jobs()
                if self._jobs_stop.wait(delay):
                    return
                with self.kms_world.lock:
                    running = [job for job in self.kms_world.jobs if job.state == "running"]
                for job in running:
                    self._finish(job)

    def _pending_jobs(self) -> bool:
        with self.kms_world.lock:
            return bool(self.kms_world.jobs)  # queued, running or working: a job leaves the list when it ends

    def _advance_jobs(self, sync_ids: list[str]) -> None:
        """In "on-poll" mode, each read of one sync moves its jobs one step (queued -> running -> ended)."""
        world = self.kms_world
        if world.sync_jobs != "on-poll":
            return
        with world.lock:
            jobs = [job for job in world.jobs if job.sync_id in sync_ids]
            to_finish = [job for job in jobs if job.state == "running"]
            for job in jobs:
                if job.state == "queued":
                    self._start(job)
        for job in to_finish:
            self._finish(job)

    # --- one job ---------------------------------------------------------------------------------
    def _start(self, job: SyncJob) -> bool:
        """Under the lock: the job starts unless another job of its sync holds the lock."""
        world = self.kms_world
        sync = world.syncs.get(job.sync_id)
        if sync is None:
            self._drop(job)
            return False
        if world.job_running(sync.id):
            return False
        job.state = "running"
        if job.action == "sync":
            sync.sync_status = "running"
        else:
            sync.remove_status = "running"
        return True

    def _finish(self, job: SyncJob) -> bool:
        world = self.kms_world
        with world.lock:
            if job.state != "running" or job not in world.jobs:
                return False  # another poll took it
            if job.sync_id not in world.syncs:  # deleted meanwhile (a delete does not wait for the job)
                self._drop(job)
                return True
            job.state = "working"
            try:
                plan: _Plan | None = self._plan(job)
                error = None
            except _Failed as failed:
                plan, error = None, str(failed)
        if plan is not None:
            try:
                self._work(plan)
            except _Failed as failed:
                error = str(failed)
        with world.lock:
            self._record(job, error)
            self._drop(job)
        return True

    def _drop(self, job: SyncJob) -> None:
        """Under the lock: the job is over; whoever waits for jobs to end is told."""
        self.kms_world.jobs.remove(job)
        self._jobs_done.notify_all()

    def _plan(self, job: SyncJob) -> _Plan:
        world = self.kms_world
        sync = world.syncs[job.sync_id]
        conn = world.connections.get(sync.connection_id)
        if conn is None:
            raise _Failed(f"Connection with ID '{sync.connection_id}' not found")
        project = world.projects[sync.project_id]
        env = project.environment(sync.environment)
        if env is None or project.folder_id(sync.environment, sync.secret_path) is None:
            raise _Failed(
                "Invalid Secret Sync source configuration: folder no longer exists. Please update source "
                "environment and secret path."
            )
        schema = str(sync.sync_options.get("keySchema") or "")
        secrets = project.secrets.get((sync.environment, sync.secret_path), {})
        variables = {
            (schema.replace("{{secretKey}}", key).replace("{{environment}}", env.slug) if schema else key): value
            for key, value in secrets.items()
        }
        return _Plan(
            job.action,
            conn.id,
            conn.method,
            dict(conn.credentials),
            str(conn.credentials.get("orgName") or ""),
            str(sync.destination_config.get("devopsProjectId") or ""),
            env.name,
            variables,
            (world.oauth_client_id, world.oauth_client_secret),
        )

    def _record(self, job: SyncJob, error: str | None) -> None:
        """Under the lock: the job's outcome on its sync (gone meanwhile: nothing to write)."""
        world = self.kms_world
        sync = world.syncs.get(job.sync_id)
        if sync is None:
            return
        now, message = now_utc(), None if error is None else sync_message(error)
        if job.action == "sync":
            sync.sync_status = "failed" if error else "succeeded"
            sync.last_sync_job_id, sync.last_sync_message = job.id, message
            if error is None:
                sync.last_synced_at = now
        elif error is None and job.delete_on_complete:
            del world.syncs[sync.id]
        else:
            sync.remove_status = "failed" if error else "succeeded"
            sync.last_remove_job_id, sync.last_remove_message = job.id, message
            if error is None:
                sync.last_removed_at = now

    # --- the calls out ---------------------------------------------------------------------------
    def _work(self, plan: _Plan) -> None:
        auth = self._authorization(plan)
        groups_url = f"{self.devops_url}/{quote(plan.org, safe='')}/{quote(plan.devops_project_id, safe='')}"
        answer = self._call("GET", f"{groups_url}/_apis/distributedtask/variablegroups?{API}", auth)
        data = _json(answer)
        groups = data.get("value") if isinstance(data, dict) else None
        if not isinstance(groups, list):  # e.g. a sign-in page (203): axios takes any 2xx as success
            raise _Failed("response.data.value is not iterable")
        group = next((g for g in groups if isinstance(g, dict) and g.get("name") == plan.group_name), None)
        org_url = f"{self.devops_url}/{quote(plan.org, safe='')}/_apis/distributedtask/variablegroups"
        if plan.action == "remove":
            if group is not None:
                self._call("DELETE", f"{org_url}/{group['id']}?projectIds={plan.devops_project_id}&{API}", auth)
            return
        name = plan.group_name
        body = {
            "name": name,
            "description": name,
            "type": "Vsts",
            "variables": {k: {"value": v, "isSecret": True} for k, v in plan.variables.items()},
            "variableGroupProjectReferences": [
                {
                    "description": name,
                    "name": name,
                    "projectReference": {"id": plan.devops_project_id, "name": plan.devops_project_id},
                }
            ],
        }
        if group is None:
            self._call("POST", f"{org_url}?{API}", auth, body)
        else:
            self._call("PUT", f"{org_url}/{group['id']}?{API}", auth, body)

    def _call(self, method: str, url: str, auth: str, body: Any = None) -> httpx.Response:
        assert self._http is not None
        headers = {"Authorization": auth, "Accept": AXIOS_ACCEPT}
        try:
            answer = self._http.request(method, url, headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise _Failed(str(exc) or type(exc).__name__) from None
        if answer.status_code >= 400:  # axios follows a redirect: what it lands on is read as data
            raise _Failed(_axios_message(answer))
        return answer

    def _authorization(self, plan: _Plan) -> str:
        creds = plan.credentials
        if plan.method == "access-token":
            if not creds.get("accessToken"):
                raise _Failed("Invalid API token credentials")
            return "Basic " + base64.b64encode(f":{creds['accessToken']}".encode()).decode()
        now_ms = int(time.time() * 1000)
        if plan.method == "client-secret":
            if creds.get("accessToken") and int(creds.get("expiresAt") or 0) > now_ms + TOKEN_MARGIN_MS:
                return f"Bearer {creds['accessToken']}"
            form = {
                "grant_type": "client_credentials",
                "scope": ADO_SCOPE,
                "client_id": str(creds.get("clientId") or ""),
                "client_secret": str(creds.get("clientSecret") or ""),
            }
        else:  # oauth: the refresh token is redeemed on every job
            client_id, client_secret = plan.oauth_client
            if not client_id or not client_secret:
                raise _Failed("Azure environment variables have not been configured")
            if not creds.get("refreshToken"):
                raise _Failed("Invalid OAuth credentials")
            form = {
                "grant_type": "refresh_token",
                "scope": ADO_SCOPE,
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": str(creds["refreshToken"]),
            }
        token = self._entra(str(creds.get("tenantId") or "common"), form)
        kept = {"accessToken": token["access_token"], "expiresAt": now_ms + int(token.get("expires_in", 3599)) * 1000}
        if token.get("refresh_token"):
            kept["refreshToken"] = token["refresh_token"]
        with self.kms_world.lock:  # the new tokens are kept, as the server re-encrypts them
            conn = self.kms_world.connections.get(plan.connection_id)
            if conn is not None:
                conn.credentials.update(kept)
        return f"Bearer {token['access_token']}"

    def _entra(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        assert self._http is not None
        url = f"{self.entra_url}/{quote(tenant, safe='')}/oauth2/v2.0/token"
        try:
            answer = self._http.post(url, data=form, headers={"Accept": AXIOS_ACCEPT})
        except httpx.HTTPError as exc:
            raise _Failed(str(exc) or type(exc).__name__) from None
        if answer.status_code >= 400:
            raise _Failed(_axios_message(answer))
        token = _json(answer)
        if not isinstance(token, dict) or not token.get("access_token"):
            raise _Failed("Cannot read properties of undefined (reading 'access_token')")
        return token


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text

"""What an Infisical instance of September 2024 answers where today's differs (issue 19, "Older
instances"): `KmsWorld.september_2024`.

Seen on a real server of that time (upstream de7a693, run on loopback; kms-api.md §4.3):
`/api/v1/projects`, the App Connections and the Secret Syncs have no route (Fastify's own 404,
`{"message": "Route GET:/api/v1/… not found", "error": "Not Found", "statusCode": 404}`, before
any authentication); `/api/v1/workspace` takes only a user's login, so a machine identity gets
`403 {"statusCode": 403, "message": "You are not allowed to access this resource", "error":
"/api/v1/workspace Unauthorized Access"}`; `/api/v2/organizations/{orgId}/workspaces` lists the
identity's projects; no error body carries a reqId.

Read in that version's source, not seen: the v2 route filters the identity's projects by the
organization in the path without checking that the identity belongs to it, so the id of another
organization (or of none) lists nothing (200), and one that is not a UUID fails in the database
(500 "Something went wrong"). The route exists on current instances too, and answers alike.

A mixin of `KmsSimulator`, like kms_syncs.SecretSyncRoutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode

from .kms_rules import KmsError, is_uuid
from .kms_world import KmsIdentity, KmsWorld

if TYPE_CHECKING:
    from .server import RecordedRequest

_Json = dict[str, Any]
ABSENT_IN_2024 = ("projects", "app-connections", "secret-syncs")  # the first segment under /api/v1


class OlderInstanceRoutes:
    """The routes whose answers depend on the instance's age; `KmsSimulator` authenticates."""

    kms_world: KmsWorld

    if TYPE_CHECKING:

        def _identity(self, request: RecordedRequest) -> KmsIdentity: ...

    def _no_route(self, request: RecordedRequest) -> KmsError:
        if not self.kms_world.september_2024:
            return KmsError(404, "NotFound", f"Route {request.method}:{request.path} not found")
        query = f"?{urlencode(request.query)}" if request.query else ""  # Fastify names the URL as sent
        return KmsError(404, "Not Found", f"Route {request.method}:{request.path}{query} not found")

    def _absent(self, route: list[str]) -> bool:
        """A route under /api/v1 this instance is too old to have."""
        return self.kms_world.september_2024 and route[:1] != [] and route[0] in ABSENT_IN_2024

    def _workspace_refused(self, request: RecordedRequest) -> NoReturn:
        """/api/v1/workspace of September 2024: a user's login only."""
        self._identity(request)  # a missing or dead token is refused first, as it is anywhere
        raise KmsError(403, f"{request.path} Unauthorized Access", "You are not allowed to access this resource")

    def _org_workspaces(self, request: RecordedRequest, org_id: str) -> _Json:
        identity = self._identity(request)
        if not is_uuid(org_id):
            raise KmsError(500, "DatabaseError", "Something went wrong")  # the uuid column refuses it
        world = self.kms_world
        with world.lock:
            if org_id != world.org_id:
                return {"workspaces": []}
            visible = world.visible_project_ids(identity)
            return {
                "workspaces": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "slug": p.slug,
                        "organization": world.org_id,
                        "environments": [{"name": e.name, "slug": e.slug} for e in p.environments],
                    }
                    for p in world.projects.values()
                    if p.id in visible
                ]
            }

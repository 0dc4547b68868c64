"""One store operation in a process of its own, for the kill -9 tests (test_store_faults.py).

    python crash_driver.py DATA_DIR BACKEND OP

KMS_CONNECT_CRASH_AT (core/faults.py) names the step at which the process SIGKILLs itself; the
real store code runs, from the same entry point the app uses (open_source opens the store).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pydantic import SecretStr

from kms_connect.core.config import Settings
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import CheckResult, ConnectionDraft
from kms_connect.core.paths import Paths
from kms_connect.core.sources import LOCAL, open_source
from kms_connect.core.status import Method, Status


def draft(name: str, org: str, token: str) -> ConnectionDraft:
    return ConnectionDraft(
        name=name, method=Method.ACCESS_TOKEN, org_name=org, secrets={"access_token": SecretStr(token)}
    )


def store_at(data_dir: Path, backend: str) -> LocalStore:
    paths = Paths(config_file=data_dir / "absent.toml", data_dir=data_dir, state_dir=data_dir.parent / "state")
    return LocalStore(paths, Settings.model_validate({"secrets": {"backend": backend}}))


async def run(store: LocalStore, op: str) -> None:
    open_source(LOCAL, store.paths, store.settings, store)
    [project] = [s.project for s in await store.list_projects()]
    conns = {c.name: c for c in await store.list_connections(project.id)}
    if op == "create":
        await store.create_connection(project.id, draft("new", "new-org", "new-token"))
    elif op == "delete":
        await store.delete_connection(conns["victim"].id)
    elif op == "replace":
        await store.replace_credentials(conns["victim"].id, draft("victim", "new-org", "new-token"))
    elif op == "check":
        await store.record_check(conns["keep"].id, CheckResult(status=Status.FAILED, summary="new result"))
    elif op == "app-secret":
        store.set_app_secret("new-app-secret")
    else:
        raise SystemExit(f"unknown op {op}")


if __name__ == "__main__":
    asyncio.run(run(store_at(Path(sys.argv[1]), sys.argv[2]), sys.argv[3]))

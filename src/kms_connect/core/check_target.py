"""What a live check is given and what it gives back: `CheckTarget` (a connection's fields and
secrets), `CheckRun` (the result, and a refreshed sign-in to keep) and `cancelled_result`.

Kept apart from the check itself (core/live_check, which loads httpx and the Azure clients), so the
forms, the check runner and core/checks import them at the top without loading those at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator

from kms_connect.core.models import CheckResult, CheckStep, Connection, ConnectionDraft, utcnow
from kms_connect.core.status import Method, Status


class CheckTarget(BaseModel):
    """What to check: the connection's fields and its secrets (SecretStr: never printed).

    A method's secrets (its spec's `secrets`) may also be given by name, e.g. `access_token=...`."""

    method: Method
    org_name: str
    tenant_id: str | None = None
    client_id: str | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    target_projects: list[str] = Field(default_factory=list)  # empty: the reads use the first project seen
    prove_write: bool = False  # and run the write proof in each target project (core/write_proof)

    @model_validator(mode="before")
    @classmethod
    def _secrets_by_name(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = {k: data[k] for k in data if k in SECRET_NAMES and k not in cls.model_fields}
            if named:
                rest = {k: v for k, v in data.items() if k not in named}
                data = {**rest, "secrets": {**named, **(rest.get("secrets") or {})}}
        return data

    @classmethod
    def of(cls, conn: Connection | ConnectionDraft, secrets: dict[str, SecretStr]) -> CheckTarget:
        return cls(
            method=conn.method,
            org_name=conn.org_name,
            tenant_id=conn.tenant_id,
            client_id=conn.client_id,
            secrets={k: v for k, v in secrets.items() if k in conn.method.spec.secrets},
            target_projects=list(conn.target_projects),
        )


SECRET_NAMES = frozenset(name for method in Method for name in method.spec.secrets)


@dataclass
class CheckRun:
    result: CheckResult
    token_cache: SecretStr | None = None  # a refreshed OAuth cache to keep


def cancelled_result(steps: list[CheckStep]) -> CheckResult:
    """What a cancelled check leaves: the steps as far as they got, and a clear word."""
    return CheckResult(
        status=Status.CANCELLED, checked_at=utcnow(), summary="Cancelled before it finished.", steps=steps
    )

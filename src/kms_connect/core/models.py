"""Pydantic models for what the store holds and what the forms produce."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kms_connect.core.status import Method, Status, StepState


def utcnow() -> datetime:
    # Whole seconds: TOML round-trips them exactly and nobody needs more here.
    return datetime.now(UTC).replace(microsecond=0)


class SecretLocation(str, Enum):
    """Which store holds a secret; recorded so every process reads and deletes in the right place."""

    KEYRING = "keyring"
    FILE = "file"


class Project(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    slug: str
    description: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class ProjectSummary:
    """A row of the Projects screen: a project and how many connections it has.

    Not a model: 10,000 are built for every listing (a model costs ~7 µs each here).
    """

    __slots__ = ("connection_count", "id", "name", "project", "slug")

    def __init__(self, project: Project, connection_count: int | None = 0) -> None:
        self.project = project
        self.id, self.name, self.slug = project.id, project.name, project.slug
        self.connection_count = connection_count  # None: not visible to this identity (an instance
        # without org permission)

    def __repr__(self) -> str:
        return f"ProjectSummary({self.name!r}, {self.connection_count!r})"


class CheckStep(BaseModel):
    """One step of a live check. Never holds a secret: results and explanations are prose."""

    model_config = ConfigDict(extra="forbid")

    key: str
    title: str
    state: StepState = StepState.PENDING
    result: str = ""
    explanation: str = ""
    field: str | None = None  # the form field this step's failure concerns
    duration_ms: int | None = None


ProofOutcome = Literal["ok", "refused", "not-tried"]
OUTCOME_WORDS = {"ok": "✓ ok", "refused": "✗ refused", "not-tried": "– not tried"}


def permissions_text(create: str, update: str, delete: str) -> str:
    """Each permission in a glyph and a word: "Variable Groups: create ✓ ok, update ✗ refused, …"."""
    said = (
        f"{op} {OUTCOME_WORDS[outcome]}" for op, outcome in (("create", create), ("update", update), ("delete", delete))
    )
    return "Variable Groups: " + ", ".join(said)


class LeftBehind(BaseModel):
    """A probe variable group the write proof created and could not delete (or was stopped before)."""

    model_config = ConfigDict(extra="forbid")

    group: str  # kms-connect-probe-<random>
    project: str
    url: str  # where to see it: {org}/{project}/_library?itemType=VariableGroups
    group_id: int | None = None  # None: its creation was asked for, the answer never came


class ProjectProof(BaseModel):
    """The write proof in one Azure DevOps project: each permission proven, refused or not tried."""

    model_config = ConfigDict(extra="forbid")

    project: str
    create: ProofOutcome = "not-tried"
    update: ProofOutcome = "not-tried"
    delete: ProofOutcome = "not-tried"
    left_behind: LeftBehind | None = None
    explanation: str = ""  # what to change, when refused; what the proof cannot prove, when not

    @property
    def refused(self) -> bool:
        return "refused" in (self.create, self.update, self.delete)

    def permissions(self) -> str:
        return permissions_text(self.create, self.update, self.delete)


class CheckResult(BaseModel):
    """The outcome of the last check of a connection, kept with it (never secrets)."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    checked_at: datetime | None = None
    summary: str = ""
    steps: list[CheckStep] = Field(default_factory=list)
    duration_ms: int | None = None
    write_proof: list[ProjectProof] | None = None  # None: no write proof ran with this check

    def failing_step(self) -> CheckStep | None:
        for step in self.steps:
            if step.state is StepState.FAILED:
                return step
        for step in self.steps:
            if step.state in (StepState.WARNING, StepState.CANCELLED):
                return step
        return None


class Connection(BaseModel):
    """An Azure DevOps App Connection, without its secrets (they live in the secret store)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    project_id: str
    name: str
    description: str = ""
    app: Literal["azure-devops"] = "azure-devops"
    method: Method
    org_name: str
    tenant_id: str | None = None
    client_id: str | None = None
    # secret field name -> the store that holds it
    secrets: dict[str, SecretLocation] = Field(default_factory=dict)
    # Counted up when the credentials are replaced: the new secrets go under new keys, so the old ones
    # stay whole until the record points at the new (a kill in between loses neither). None: never.
    secrets_generation: int | None = None
    # The Azure DevOps projects its syncs will write to: checks read each, a write proof runs in each.
    target_projects: list[str] = Field(default_factory=list)
    last_check: CheckResult | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def status(self) -> Status:
        if self.last_check is not None:
            return self.last_check.status
        if not self.secrets:
            return Status.NOT_CHECKABLE
        return Status.NOT_CHECKED


class ConnectionDraft(BaseModel):
    """What a form produced: validated fields, secrets kept as SecretStr so they never print."""

    name: str
    description: str = ""
    method: Method
    org_name: str
    tenant_id: str | None = None
    client_id: str | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    target_projects: list[str] = Field(default_factory=list)


class OAuthAvailability(BaseModel):
    available: bool
    client_id: str | None = None
    source: str = ""
    has_client_secret: bool = False
    reason: str = ""
    fix: str = ""
    redirect_uri: str = "http://localhost"
    # Methods the source offers (an instance's /app-connections/options); None: all of them.
    methods: list[str] | None = None
    redeemed_by_instance: bool = False  # OAuth on a KMS instance: it redeems the code (no PKCE, its redirect URI)

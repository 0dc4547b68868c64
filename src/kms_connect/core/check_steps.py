"""The steps of a live check (their titles, which of them decide Failed) and how a finished set of
steps becomes a CheckResult. The check itself, which runs them, is core/live_check."""

from __future__ import annotations

from kms_connect.core.models import CheckResult, CheckStep, ProjectProof, utcnow
from kms_connect.core.status import Status, StepState

TITLES = {
    "token": "Entra ID token",
    "org": "Organization and tenant",
    "credentials": "Credentials accepted",
    "projects": "Project and Team read",
    "variablegroups": "Variable Groups read",
    "serviceendpoints": "Service Connections read",
    "release": "Release read",
    "write": "Write and manage",
}
# The project-level reads: a step each on the first project the identity sees; with target projects,
# all three in one step per target project ("target:<project>", its own ✓/✗ line).
PROJECT_READS = ("variablegroups", "serviceendpoints", "release")
TARGET = "target:"
ACCEPTANCE = ("token", "org", "credentials", "projects")  # a failure here means the credentials don't work
WRITE_NOTE = (
    "kms-connect only reads. Proving create or manage rights would change the organization, so "
    "they are not claimed. Secret syncs need Variable Groups manage: make sure it is granted."
)
NOT_IN_TIME = "Not run: no answer in time"


def step_keys(keys: tuple[str, ...], targets: list[str]) -> dict[str, str]:
    """The steps of a check (key → title), with one step of project-level reads per target project."""
    out: dict[str, str] = {}
    for key in keys:
        if key not in PROJECT_READS or not targets:
            out[key] = TITLES[key]
        elif key == PROJECT_READS[0]:
            out.update({f"{TARGET}{project}": f"Reads in {project}" for project in targets})
    return out


def out_of_time(step: CheckStep, limit: float) -> tuple[str, str]:
    """(result, explanation) of a step still waiting when the check's deadline passed."""
    service = "Entra ID" if step.key == "token" else "Azure DevOps"
    # What the step said while it waited (a retry, a Retry-After) tells why it took so long.
    last = f" Last heard: {step.result}." if step.result else ""
    return (
        f"No answer in time ({limit:g} s)",
        f"The check stopped here after [status] check_timeout ({limit:g} s), waits and retries included, "
        f"and the steps after it were not run. {service} may be slow or unreachable from this box: check "
        f"again later, or raise [status] check_timeout.{last}",
    )


def with_last_proof(result: CheckResult, last: CheckResult | None) -> CheckResult:
    """A plain check keeps the write proof of the check before it (same credentials): the last word on
    writes stands until the next proof. A refused one keeps the connection a Warning."""
    proofs = last.write_proof if last is not None else None
    if result.write_proof is not None or not proofs or result.status not in (Status.VALID, Status.WARNING):
        return result  # a proof of its own, none before, or the credentials refused now: nothing to keep
    if result.status is Status.WARNING:
        return result.model_copy(update={"write_proof": proofs})
    refused = next((p for p in proofs if p.refused), None)
    if refused is None:
        return result.model_copy(update={"write_proof": proofs})
    summary = f"Reads work; the last write proof was refused in {refused.project}: {refused.permissions()}"
    return result.model_copy(update={"write_proof": proofs, "status": Status.WARNING, "summary": summary})


def summarize(steps: list[CheckStep], duration_ms: int, proofs: list[ProjectProof] | None = None) -> CheckResult:
    failed = [s for s in steps if s.state is StepState.FAILED]
    if any(s.key in ACCEPTANCE for s in failed):
        status = Status.FAILED
    elif failed or any(s.state is StepState.WARNING for s in steps):
        status = Status.WARNING
    else:
        status = Status.VALID
    result = CheckResult(
        status=status,
        checked_at=utcnow(),
        steps=[s.model_copy() for s in steps],
        duration_ms=duration_ms,
        write_proof=proofs,
    )
    bad = result.failing_step()
    others = [s for s in failed if not s.key.startswith(("proof:", "cleanup:"))]  # not the write proof's
    if proofs is not None and any(p.refused for p in proofs) and not others:
        result.summary = "Reads work, writes refused" + (f": {bad.title}: {bad.result}" if bad else "")
    elif bad is not None:
        result.summary = f"{bad.title}: {bad.result}"
    else:
        who = next((s.result for s in steps if s.key == "credentials"), "").removeprefix("Authenticated as ")
        proven = f" and writes are proven in {', '.join(p.project for p in proofs)}" if proofs else ""
        result.summary = f"All reads work{proven}, as {who}"
    return result

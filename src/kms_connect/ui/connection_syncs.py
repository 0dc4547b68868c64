"""The Secret Syncs that use a connection, in words: its details list them, its delete names them.

One line per sync: where it is (`project/name`), what it pushes where (environment and folder →
Azure DevOps project), its status as a glyph and a word, and when it last succeeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kms_connect.ui.widgets.status_text import ago

if TYPE_CHECKING:
    from kms_connect.core.workspace import SecretSync, SyncUsers

NONE_USE_IT = "None use this connection."
# The delete's dialog is 64 columns wide and must fit 80x24: the rest are counted, not listed.
LISTED_IN_DELETE = 4


def sync_line(sync: SecretSync) -> str:
    source = sync.environment_name or sync.environment or "(environment gone)"
    if sync.secret_path not in ("", "/"):
        source += f" {sync.secret_path}"
    synced = f"synced {ago(sync.last_synced_at)}" if sync.last_synced_at else "never synced"
    return f"{sync.project}/{sync.name}: {source} → {sync.devops_project} · {sync.status.label} · {synced}"


def _hidden(users: SyncUsers) -> str:
    if not users.hidden:
        return ""
    return f"Not counted: the syncs of {', '.join(users.hidden)}, which this machine identity may not read."


def details_text(users: SyncUsers) -> str:
    """The Secret Syncs block of the connection's details."""
    if users.unsupported:
        return users.unsupported
    lines = [sync_line(s) for s in users.syncs] or [NONE_USE_IT]
    return "\n".join([*lines, _hidden(users)]).strip()


def delete_warning(users: SyncUsers) -> str:
    """What the delete's confirmation says first ("" on an instance without Secret Syncs)."""
    if users.unsupported:
        return ""
    if not users.syncs:
        return f"No Secret Sync uses it. {_hidden(users)}".strip()
    shown = [f"  {sync_line(s)}" for s in users.syncs[:LISTED_IN_DELETE]]
    if len(users.syncs) > LISTED_IN_DELETE:
        shown.append(f"  and {len(users.syncs) - LISTED_IN_DELETE} more (the connection's details list them all)")
    return "\n".join(
        [
            "These Secret Syncs use it and will stop working:",
            *shown,
            "The instance may refuse the delete while they exist (Infisical-based ones do, and say why): delete "
            "them or move them to another connection first.",
            _hidden(users),
        ]
    ).strip()

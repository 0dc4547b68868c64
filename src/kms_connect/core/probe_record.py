"""Probe variable groups that may be left in Azure DevOps, recorded before they are created.

The write proof (core/write_proof) writes the name of its probe group here before it asks Azure
DevOps to create it, and takes it off once the group is deleted. So a group left behind (a refused
delete, a cancelled proof, a killed process, an answer that never came) is never forgotten: the
next proof, or `check --prove-write`, cleans it up first, and the app names it with its web URL
meanwhile. Same rules as the check results beside it (results_file): no secrets, 0600, atomic
writes, a damaged file moved aside and said once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import TypeAdapter

from kms_connect.core.files import file_lock
from kms_connect.core.models import LeftBehind
from kms_connect.core.results_file import MapFile

_PROBES: TypeAdapter[dict[str, list[LeftBehind]]] = TypeAdapter(dict[str, list[LeftBehind]])


class ProbeRecord:
    """Connection id → the probe groups that may be left in its organization."""

    def __init__(self, path: Path) -> None:
        self.file: MapFile[list[LeftBehind]] = MapFile(path, _PROBES)
        self._lock = path.with_suffix(".lock")

    def of(self, connection_id: str) -> list[LeftBehind]:
        return list(self.file.read().get(connection_id, []))

    def everything(self) -> list[LeftBehind]:
        return [group for groups in self.file.read().values() for group in groups]

    def notice(self) -> str:
        """What an earlier run may have left (a kill or a cancel during a proof), in words; "" if nothing."""
        left = self.everything()
        if not left:
            return ""
        groups = "; ".join(f"{g.group} in {g.project} ({g.url})" for g in left)
        return (
            f"A write proof may have left {len(left)} probe variable group{'s' if len(left) != 1 else ''} in Azure "
            f"DevOps: {groups}. The next write proof of its connection deletes it first; or delete it by hand there."
        )

    def add(self, connection_id: str, group: LeftBehind) -> None:
        self._change(connection_id, lambda groups: [*[g for g in groups if g.group != group.group], group])

    def remove(self, connection_id: str, group: str) -> None:
        self._change(connection_id, lambda groups: [g for g in groups if g.group != group])

    def _change(self, connection_id: str, change: Callable[[list[LeftBehind]], list[LeftBehind]]) -> None:
        with file_lock(self._lock):
            everything = dict(self.file.read())
            groups = change(everything.get(connection_id, []))
            if groups:
                everything[connection_id] = groups
            elif everything.pop(connection_id, None) is None:
                return
            self.file.write(everything)

"""Where kms-connect keeps its files (XDG dirs via platformdirs, overridable by env)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import platformdirs

from kms_connect import APP_NAME

CONFIG_ENV = "KMS_CONNECT_CONFIG"


@dataclass(frozen=True)
class Paths:
    config_file: Path
    data_dir: Path
    state_dir: Path
    #: KMS_CONNECT_CONFIG chose config_file: then it must exist (a typo must not quietly mean defaults).
    config_named: bool = False

    def config_missing(self) -> str | None:
        """Why the config file cannot be used, when it was named and is absent; else None.
        Only the default path may be absent (defaults in use)."""
        if not self.config_named or self.config_file.exists():
            return None
        return (
            f"{CONFIG_ENV} names {self.config_file}, which does not exist. Create it (an empty file means "
            f"defaults), or unset {CONFIG_ENV} to use the default config file."
        )

    @property
    def store_file(self) -> Path:
        return self.data_dir / "store.toml"

    @property
    def store_copy(self) -> Path:
        """A JSON copy of store.toml that opens quicker; ignored unless it matches the TOML (why:
        store_file.py)."""
        return self.data_dir / "store.json"

    @property
    def check_results(self) -> Path:
        """The connections' last check results (machine state, never secrets), apart from store.toml."""
        return self.data_dir / "checks.json"

    @property
    def probe_groups(self) -> Path:
        """Probe variable groups a write proof may have left in Azure DevOps (core/probe_record)."""
        return self.data_dir / "probe-groups.json"

    @property
    def secrets_file(self) -> Path:
        # Named for what it is: the fallback when no OS keyring can be reached.
        return self.data_dir / "plaintext-secrets.json"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "store.lock"

    @property
    def instances_file(self) -> Path:
        return self.data_dir / "instances.toml"

    @property
    def instances_lock(self) -> Path:
        return self.data_dir / "instances.lock"

    def instance_checks(self, name: str) -> Path:
        """The local checks made before sending credentials to an instance (no secrets)."""
        return self.data_dir / "instance-checks" / f"{name}.json"

    def instance_files(self, name: str) -> InstanceFiles:
        """What this machine keeps of an instance, in one place: renamed and removed together."""
        return InstanceFiles.beside(self.instance_checks(name))

    @property
    def debug_log(self) -> Path:
        return self.state_dir / "debug.log"


class InstanceFiles(NamedTuple):
    """An instance's files here (no secrets): its connections' check results, their target projects
    (the instance's schema has no field for them) and the probe groups a write proof may have left."""

    checks: Path
    targets: Path
    probes: Path

    @classmethod
    def beside(cls, checks: Path) -> InstanceFiles:
        return cls(
            checks, checks.with_name(f"{checks.stem}.targets.json"), checks.with_name(f"{checks.stem}.probes.json")
        )


def default_paths() -> Paths:
    config = os.environ.get(CONFIG_ENV)
    config_file = (
        Path(config).expanduser()
        if config
        else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
    )
    return Paths(
        config_file=config_file,
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        config_named=bool(config),
    )

"""What this machine keeps of an instance (core/paths.InstanceFiles: check results, target projects,
probe groups) follows it: renamed with it, removed with it, and a temp a killed write left is swept
when it opens."""

from __future__ import annotations

from kms_connect.core.config import Settings
from kms_connect.core.instances import Instance
from kms_connect.core.local_store import LocalStore
from kms_connect.core.sources import open_source, remove_instance, save_instance


def keep(paths, settings, local, name: str) -> Instance:  # type: ignore[no-untyped-def]
    instance = Instance(name=name, url="https://kms.example.test", client_id="11111111-2222-3333-4444-555555555555")
    return save_instance(paths, settings, local, instance, "client-secret-value")


def written(paths, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Each of the instance's files, with its name in it, as a later check or proof would write it."""
    files = paths.instance_files(name)
    files.checks.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        path.write_text(f'{{"of": "{path.name}"}}')
    return [path.name.replace(name, "NAME") for path in files]


def test_a_renamed_instance_takes_its_files_and_a_removed_one_leaves_none(paths) -> None:
    settings = Settings()
    local = LocalStore(paths, settings)
    old = keep(paths, settings, local, "prod")
    kinds = written(paths, "prod")
    assert kinds == ["NAME.json", "NAME.targets.json", "NAME.probes.json"]
    renamed = old.model_copy(update={"name": "production"})
    save_instance(paths, settings, local, renamed, None, replacing="prod")
    assert not any(p.exists() for p in paths.instance_files("prod"))
    now = paths.instance_files("production")
    assert all(p.exists() for p in now) and "prod.targets.json" in now.targets.read_text()  # moved, not remade
    remove_instance(paths, settings, local, "production")
    assert not any(p.exists() for p in now)


def test_a_temp_a_killed_write_left_is_swept_at_open(paths) -> None:
    settings = Settings()
    local = LocalStore(paths, settings)
    keep(paths, settings, local, "prod")
    written(paths, "prod")
    files = paths.instance_files("prod")
    left = files.targets.parent / f".{files.targets.name}.dead0001.tmp"  # no writer holds its lock: abandoned
    left.write_text("half")
    open_source("prod", paths, settings, local)
    assert not left.exists() and files.targets.exists()

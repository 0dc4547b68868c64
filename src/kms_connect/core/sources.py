"""Where connections live: the local store, or one of the Hanzo KMS instances. Builds the Backend."""

from __future__ import annotations

import logging

from kms_connect.core.backend import Backend
from kms_connect.core.config import Settings
from kms_connect.core.errors import SecretError
from kms_connect.core.files import remove_stale_temps
from kms_connect.core.instances import Instance, InstanceStore, configured_instances, secret_key
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import SecretLocation
from kms_connect.core.paths import Paths

LOCAL = "local"
log = logging.getLogger(__name__)


def instance_store(paths: Paths, settings: Settings) -> InstanceStore:
    return InstanceStore(
        paths.instances_file, paths.instances_lock, configured_instances(settings.instances, paths.config_file)
    )


def open_source(name: str, paths: Paths, settings: Settings, local: LocalStore) -> Backend:
    """The backend for `name` (LOCAL or an instance name). Blocking: call it in a thread.

    The local store is opened here: a damaged one raises StoreDamaged (so the UI's load fails with
    its words, headless commands exit 2), and what a killed process left is cleared."""
    if name == LOCAL:
        local.open()
        return local

    instance = instance_store(paths, settings).get(name)

    def client_secret() -> str | None:
        if instance.client_secret_at is not None:
            return local.secrets.get(secret_key(instance.name), SecretLocation(instance.client_secret_at))
        # A config-file instance records nowhere where its secret went: look in both places.
        for where in (SecretLocation.KEYRING, SecretLocation.FILE):
            try:
                return local.secrets.get(secret_key(instance.name), where)
            except SecretError:
                continue
        return None

    # The local store's rows show without waiting for httpx (benchmarks/imports.py).
    from kms_connect.core.kms.backend import KmsBackend  # noqa: PLC0415 - the local store opens sooner: ~90 ms
    from kms_connect.core.kms.client import KmsClient  # noqa: PLC0415 - with KmsBackend

    files = paths.instance_files(instance.name)
    remove_stale_temps(files)  # what a write killed midway left (each temp's own lock says if it is abandoned)
    return KmsBackend(instance, KmsClient(instance, client_secret), files)


def save_instance(
    paths: Paths,
    settings: Settings,
    local: LocalStore,
    instance: Instance,
    client_secret: str | None,
    *,
    replacing: str | None = None,
) -> Instance:
    """Add or edit an instance; its Client Secret goes to the secret store (None: keep the old one)."""
    store = instance_store(paths, settings)
    old = store.get(replacing) if replacing else None
    if old is not None and old.source == "config":  # only its secret can be set here
        if client_secret:
            local.secrets.put(secret_key(old.name), client_secret)
        return old
    store.check_name(instance.name, replacing)  # before any secret is written under that name
    if client_secret:
        where = local.secrets.put(secret_key(instance.name), client_secret)
        instance = instance.model_copy(update={"client_secret_at": where.value})
    elif old is not None:
        instance = instance.model_copy(update={"client_secret_at": old.client_secret_at})
        if old.name != instance.name and old.client_secret_at:  # renamed: move the secret with it
            value = local.secrets.get(secret_key(old.name), SecretLocation(old.client_secret_at))
            where = local.secrets.put(secret_key(instance.name), value)
            instance = instance.model_copy(update={"client_secret_at": where.value})
    saved = store.save(instance, replacing=replacing)
    if old is not None and old.name != instance.name:
        if old.client_secret_at:
            _forget_secret(local, old.name, old.client_secret_at)
        for was, now in zip(paths.instance_files(old.name), paths.instance_files(instance.name), strict=True):
            if was.exists():  # the check results, target projects and probe groups follow the instance
                was.replace(now)
    return saved


def _forget_secret(local: LocalStore, name: str, where: str) -> None:
    try:
        local.secrets.delete(secret_key(name), SecretLocation(where))
    except SecretError as exc:  # best effort: the instance is gone either way
        log.warning("could not delete the Client Secret of instance %s: %s", name, exc)


def remove_instance(paths: Paths, settings: Settings, local: LocalStore, name: str) -> None:
    gone = instance_store(paths, settings).remove(name)
    for path in paths.instance_files(name):
        path.unlink(missing_ok=True)
    if gone.client_secret_at:
        _forget_secret(local, name, gone.client_secret_at)

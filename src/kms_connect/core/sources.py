"""Where connections live: the local store, or one of the Hanzo KMS instances. Builds the Backend."""

from __future__ import annotations

from kms_connect.core.backend import Backend
from kms_connect.core.config import Settings
from kms_connect.core.instances import Instance, InstanceStore, configured_instances, secret_key
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import SecretLocation
from kms_connect.core.paths import Paths

LOCAL = "local"


def instance_store(paths: Paths, settings: Settings) -> InstanceStore:
    return InstanceStore(paths.instances_file, paths.instances_lock,
                         configured_instances(settings.instances, paths.config_file))


def open_source(name: str, paths: Paths, settings: Settings, local: LocalStore) -> Backend:
    """The backend for `name` (LOCAL or an instance name). Blocking: call it in a thread."""
    if name == LOCAL:
        return local
    from kms_connect.core.kms.backend import KmsBackend
    from kms_connect.core.kms.client import KmsClient

    instance = instance_store(paths, settings).get(name)

    def client_secret() -> str | None:
        if instance.client_secret_at is None:
            return None
        return local.secrets.get(secret_key(instance.name), SecretLocation(instance.client_secret_at))

    return KmsBackend(instance, KmsClient(instance, client_secret), paths.instance_checks(instance.name))


def save_instance(paths: Paths, settings: Settings, local: LocalStore, instance: Instance,
                  client_secret: str | None, *, replacing: str | None = None) -> Instance:
    """Add or edit an instance; its Client Secret goes to the secret store (None: keep the old one)."""
    store = instance_store(paths, settings)
    old = store.get(replacing) if replacing else None
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
    if old is not None and old.client_secret_at and (old.name != instance.name):
        local.secrets.delete(secret_key(old.name), SecretLocation(old.client_secret_at))
    return saved


def remove_instance(paths: Paths, settings: Settings, local: LocalStore, name: str) -> None:
    gone = instance_store(paths, settings).remove(name)
    if gone.client_secret_at:
        local.secrets.delete(secret_key(name), SecretLocation(gone.client_secret_at))
    paths.instance_checks(name).unlink(missing_ok=True)

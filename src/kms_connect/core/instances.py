"""Hanzo KMS instances: where their API is reached, and the machine identity that logs in.

Instances come from two places: the ones added in the TUI, kept in `instances.toml` in the data
dir (written atomically, never holding a secret), and `[[instances]]` tables in the hand-written
config file, which the app reads but never rewrites. A machine identity's Client Secret lives in
the secret store; `KMS_CONNECT_TOKEN` can stand in for the whole login (scripts).
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import tomli_w
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from kms_connect.core.errors import ConfigError, ConflictError, NameTaken, NotFoundError, StoreError, name_error
from kms_connect.core.files import atomic_write, file_lock
from kms_connect.core.validation import check_slug_name, is_guid

TOKEN_ENV = "KMS_CONNECT_TOKEN"
CALLBACK_PATH = "/organization/app-connections/azure/oauth/callback"
FILE_VERSION = 1
ORG_ID_WHERE = "the instance's web UI, Organization Settings"


def secret_key(name: str) -> str:
    return f"instance/{name}/client_secret"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Instance(BaseModel):
    """One Hanzo KMS instance, as the operator described it (no secrets here)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    url: str  # where the API is reached from this box (a tunnel, localhost:8080, …)
    site_url: str | None = None  # the instance's public SITE_URL, for the OAuth redirect URI
    client_id: str | None = None  # the Universal Auth machine identity
    organization_slug: str | None = None
    # Only for an instance that lists a machine identity's projects by organization alone (an
    # Infisical of September 2024): core/kms/client.KmsClient.projects says why it is asked for.
    org_id: str | None = None
    ca_bundle: Path | None = None
    allow_http: bool = False
    source: Literal["store", "config"] = "store"
    client_secret_at: Literal["keyring", "file"] | None = None  # where the secret store keeps it

    @field_validator("url", "site_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as https://kms.example.com, not {value!r}")
        return value.strip().rstrip("/")

    @field_validator("org_id")
    @classmethod
    def _org_id(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and not is_guid(value):
            raise ValueError(
                f"must be the organization's ID, a GUID like 00000000-0000-0000-0000-000000000000 ({ORG_ID_WHERE}), "
                f"not {value!r}"
            )
        return value.lower() or None

    @property
    def public_url(self) -> str:
        return self.site_url or self.url

    @property
    def redirect_uri(self) -> str:
        """What the instance sends Entra when it redeems an OAuth code (SITE_URL + the callback path)."""
        return self.public_url + CALLBACK_PATH

    def transport_problem(self) -> str | None:
        """Why this URL must not be used as it is (plain HTTP to another host), or None."""
        parts = urlsplit(self.url)
        if parts.scheme == "http" and not is_loopback(parts.hostname) and not self.allow_http:
            return (
                f"{self.url} is plain HTTP to another host: the machine identity's secret and every "
                "credential would cross the network unencrypted. Use https://, an SSH tunnel to "
                "localhost, or set allow_http for this instance if you accept that."
            )
        return None

    def site_url_note(self) -> str | None:
        if self.site_url and self.site_url != self.url:
            return (
                f"OAuth sign-ins return to {self.site_url} (the instance's SITE_URL), not to {self.url}: "
                "register that redirect URI in Azure."
            )
        return None


def check_instance_name(name: str, taken: set[str]) -> str | None:
    if name == "local":
        return "“local” is the local store's name (--instance local); choose another."
    return check_slug_name(name, taken)


class InstanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = FILE_VERSION
    instances: list[Instance] = []


class InstanceStore:
    """The instances added in the TUI, plus the config file's (read-only)."""

    def __init__(self, path: Path, lock_path: Path, configured: list[Instance] | None = None) -> None:
        self.path, self.lock_path = path, lock_path
        self.configured = [i.model_copy(update={"source": "config"}) for i in configured or []]

    def _read(self) -> InstanceFile:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return InstanceFile()
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot be read: {exc.strerror or exc}") from None
        try:
            data = InstanceFile.model_validate(tomllib.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
            raise StoreError(f"{self.path} is damaged and was left as it is: {str(exc).splitlines()[0]}") from None
        if data.version > FILE_VERSION:
            raise StoreError(f"{self.path} was written by a newer kms-connect (format {data.version}).")
        return data

    def list(self) -> list[Instance]:
        stored = self._read().instances
        names = {i.name for i in stored}
        return [*stored, *(i for i in self.configured if i.name not in names)]

    def get(self, name: str) -> Instance:
        for instance in self.list():
            if instance.name == name:
                return instance
        known = ", ".join(i.name for i in self.list()) or "none yet"
        raise NotFoundError(f"No instance named {name!r} (known: {known}).")

    def check_name(self, name: str, replacing: str | None = None) -> None:
        """Raise NameTaken or FieldError when `name` cannot be used (checked before any secret is written)."""
        data = self._read()
        others = [i for i in data.instances if i.name != (replacing or name)]
        taken = {i.name for i in others} | {i.name for i in self.configured}
        error = check_instance_name(name, taken)
        if error:
            raise name_error(error, name, taken=name in taken)
        if replacing is None and any(i.name == name for i in data.instances):
            raise NameTaken(f"An instance named {name!r} already exists.", name=name)

    def save(self, instance: Instance, *, replacing: str | None = None) -> Instance:
        """Add (or, with `replacing`, edit) an instance kept in the data store."""
        instance = instance.model_copy(update={"source": "store"})
        with file_lock(self.lock_path):
            self.check_name(instance.name, replacing)
            data = self._read()
            others = [i for i in data.instances if i.name != (replacing or instance.name)]
            data.instances = sorted([*others, instance], key=lambda i: i.name)
            self._write(data)
        return instance

    def remove(self, name: str) -> Instance:
        with file_lock(self.lock_path):
            data = self._read()
            for instance in data.instances:
                if instance.name == name:
                    data.instances.remove(instance)
                    self._write(data)
                    return instance
        if any(i.name == name for i in self.configured):
            raise ConflictError(f"{name!r} is declared in the config file; remove it there.")
        raise NotFoundError(f"No instance named {name!r}.")

    def _write(self, data: InstanceFile) -> None:
        doc = data.model_dump(mode="json", exclude_none=True)
        for item in doc["instances"]:
            item.pop("source", None)
        atomic_write(self.path, tomli_w.dumps(doc).encode("utf-8"))


def configured_instances(raw: list[dict[str, Any]] | None, config_file: Path) -> list[Instance]:
    """`[[instances]]` tables from the config file, errors naming the file and the entry."""
    out: list[Instance] = []
    for index, item in enumerate(raw or []):
        try:
            out.append(Instance.model_validate({**item, "source": "config"}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
            raise ConfigError(f"{config_file}: [[instances]] #{index + 1} {where}: {msg}") from None
    return out

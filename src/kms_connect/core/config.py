"""Settings from the hand-written config file (never rewritten by the app) and the environment."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails

from kms_connect.core.errors import ConfigError
from kms_connect.core.instances import configured_instances
from kms_connect.core.keymap import check_keys, flatten
from kms_connect.core.redact import redact_url
from kms_connect.core.validation import is_guid

CLIENT_ID_ENV = "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID"
CLIENT_SECRET_ENV = "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET"
PROXY_ENVS = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as https://example.com, not {value!r}")
    return value.rstrip("/")


class _Section(BaseModel):
    # Unknown keys are typos more often than not: say so rather than ignore them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class AzureSettings(_Section):
    authority_host: str = "https://login.microsoftonline.com"
    devops_url: str = "https://dev.azure.com"
    release_url: str = "https://vsrm.dev.azure.com"
    ca_bundle: Path | None = None

    _urls = field_validator("authority_host", "devops_url", "release_url")(_http_url)

    @field_validator("ca_bundle")
    @classmethod
    def _bundle_exists(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            if not value.is_file():
                raise ValueError(f"no such file: {value} (a PEM bundle of CA certificates)")
        return value


class OAuthSettings(_Section):
    client_id: str | None = None
    redirect_uri: str = "http://localhost"

    _redirect = field_validator("redirect_uri")(_http_url)

    @field_validator("client_id")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is not None and not is_guid(value.strip()):
            raise ValueError("must be the app registration's Application (client) ID, a GUID")
        return value.strip() if value else None


class SecretsSettings(_Section):
    backend: Literal["auto", "keyring", "file"] = "auto"
    # A keyring backend that hangs (locked collection, prompt) must never freeze the TUI.
    keyring_timeout: float = 5.0


class StatusSettings(_Section):
    # How many live checks run at once (a `V` re-check of a whole project, the dashboard).
    concurrency: int = 8
    # Seconds between automatic re-checks of every connection while the app runs; 0 = off.
    interval: int = 0
    # Seconds one check may take in all (retries and waits included); then it ends on the step it
    # was on, as "no answer in time".
    check_timeout: float = 60

    @field_validator("concurrency")
    @classmethod
    def _positive(cls, value: int) -> int:
        if not 1 <= value <= 64:
            raise ValueError("must be between 1 and 64")
        return value

    @field_validator("interval")
    @classmethod
    def _sensible(cls, value: int) -> int:
        # Under 30 s would mostly re-check what was just checked, and eat into Azure DevOps'
        # rate limits shared with the pipelines.
        if value != 0 and not 30 <= value <= 7 * 86400:
            raise ValueError("must be 0 (off) or between 30 seconds and 7 days, in seconds (e.g. 900 for 15 minutes)")
        return value

    @field_validator("check_timeout")
    @classmethod
    def _bounded(cls, value: float) -> float:
        # Under 5 s a healthy check over a slow link (a 429's Retry-After, a retried reset) would be
        # cut short; over 10 minutes a cron job or a `V` run would wait on a dead server for nothing.
        if not 5 <= value <= 600:
            raise ValueError("must be between 5 and 600 seconds (default 60)")
        return value


class UISettings(_Section):
    theme: str = "textual-dark"


class Settings(_Section):
    azure: AzureSettings = AzureSettings()
    oauth: OAuthSettings = OAuthSettings()
    secrets: SecretsSettings = SecretsSettings()
    status: StatusSettings = StatusSettings()
    ui: UISettings = UISettings()
    # [keys]: binding id -> keys (core/keymap.py); which ids exist is checked by the UI (ui/keymap.py).
    keys: dict[str, str] = {}
    # [[instances]] tables, checked by core/instances (errors name the entry); never rewritten.
    instances: list[dict[str, object]] = []

    @field_validator("keys", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value  # pydantic says it must be a table
        flat = flatten(value)
        problems = []
        for binding_id, keys in flat.items():
            try:
                flat[binding_id] = check_keys(keys)
            except ValueError as exc:
                problems.append(f"{binding_id}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return flat

    def oauth_client_id(self) -> tuple[str | None, str]:
        """The OAuth app's client ID and where it came from (env wins over the file)."""
        env = os.environ.get(CLIENT_ID_ENV, "").strip()
        if env:
            return env, f"env {CLIENT_ID_ENV}"
        if self.oauth.client_id:
            return self.oauth.client_id, "config [oauth] client_id"
        return None, "not set"


def load_settings(path: Path) -> Settings:
    """Read the config file; a missing file means defaults. Errors name the file and the key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML: {exc}") from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(err) for err in exc.errors())) from None

    configured_instances(settings.instances, path)  # a bad [[instances]] entry is reported now
    return settings


def _describe(err: ErrorDetails) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    if len(loc) >= 2:
        where = f"[{loc[0]}] {'.'.join(loc[1:])}"
    elif loc:
        where = f"[{loc[0]}]" if err.get("type") != "extra_forbidden" else loc[0]
    else:
        where = "(top level)"
    if err.get("type") == "extra_forbidden":
        return f"{where}: unknown key (check its spelling and section)"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {msg}"


def proxy_settings() -> dict[str, str]:
    """Proxy variables in effect, credentials in proxy URLs redacted."""

    return {name: redact_url(os.environ[name]) for name in PROXY_ENVS if os.environ.get(name)}

"""Non-interactive subcommands (no Textual): config report and the OAuth client secret.

Exit codes: 0 done; 1 the secret store failed while saving or removing; 2 usage or configuration
error (bad or missing config file, a store refused before anything changed, --instance refused).
"""

from __future__ import annotations

import getpass
import os
import sys

from kms_connect.core.backend import Backend
from kms_connect.core.config import CLIENT_SECRET_ENV, Settings, load_settings, proxy_settings
from kms_connect.core.errors import KmsConnectError
from kms_connect.core.instances import TOKEN_ENV
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import SecretLocation
from kms_connect.core.paths import Paths
from kms_connect.core.sources import LOCAL, instance_store

USAGE = 2


class Notices:
    """A backend's one-time notices on stderr, each said once (the TUI shows them in a dialog)."""

    def __init__(self) -> None:
        self.said: set[str] = set()

    def say(self, title: str, body: str) -> None:
        text = " ".join(line.strip() for line in body.splitlines() if line.strip())  # one log line each
        if text in self.said:  # a results file that cannot be moved aside is found again at each read
            return
        self.said.add(text)
        print(f"kms-connect: {title}: {text}", file=sys.stderr, flush=True)

    def drain(self, backend: Backend) -> None:
        while (notice := backend.take_notice()) is not None:
            self.say(notice.title, notice.body)


def _settings_or_exit(paths: Paths):  # type: ignore[no-untyped-def]
    try:
        return load_settings(paths.config_file)
    except KmsConnectError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return None


def print_config(paths: Paths, instance: str = LOCAL) -> int:
    settings = _settings_or_exit(paths)
    if settings is None:
        return USAGE
    store = LocalStore(paths, settings)
    lines: list[str] = []
    if instance != LOCAL:
        try:
            lines = ["", *_instance_lines(paths, settings, store, instance)]
        except KmsConnectError as exc:  # unknown name, damaged instances.toml: as `list` says it
            print(f"kms-connect: {exc}", file=sys.stderr)
            return USAGE
    exists = "" if paths.config_file.exists() else "  (not present: defaults in use)"
    print("Files")
    print(f"  config       {paths.config_file}{exists}")
    print(f"  local store  {paths.store_file}")
    print(f"  results      {paths.check_results}  (the last check of each connection)")
    print(f"  secrets      OS keyring (service 'kms-connect'), or the plaintext fallback {paths.secrets_file}")
    print(f"  debug log    {paths.debug_log}  (written with --debug)")
    print()
    print("Settings")
    for section, model in settings:
        if section == "instances":
            for item in model:
                print(f"  [[instances]] {item.get('name')} = {item.get('url')}")
            continue
        for key, value in model:
            shown = "(not set)" if value is None else value
            print(f"  [{section}] {key} = {shown}")
    client_id, source = settings.oauth_client_id()
    print()
    print("OAuth app")
    print(f"  client_id      {client_id or '(not set)'}  [{source}]")
    try:
        availability = store.oauth_availability_sync()
        secret = (
            "set (env)"
            if os.environ.get(CLIENT_SECRET_ENV)
            else ("set (secret store)" if availability.has_client_secret else "not set (public client)")
        )
    except KmsConnectError as exc:
        secret = f"unknown: {exc}"
    print(f"  client_secret  {secret}")
    reason = store.secrets.keyring.unusable_reason()
    print()
    print("Secret store")
    print(f"  backend        {settings.secrets.backend}")
    print(
        f"  OS keyring     {'unusable: ' + reason if reason else 'usable (' + store.secrets.keyring.backend_name + ')'}"
    )
    print()
    print("Proxy")
    proxies = proxy_settings()
    if not proxies:
        print("  (none: direct connections)")
    for name, value in proxies.items():
        print(f"  {name}={value}")
    for line in lines:
        print(line)
    Notices().drain(store)  # reading the store may have moved a damaged results file aside
    return 0


def _instance_lines(paths: Paths, settings: Settings, store: LocalStore, name: str) -> list[str]:
    """The `--instance NAME` section of `config`: where it is and how this box logs in (no secret)."""
    inst = instance_store(paths, settings).get(name)
    declared = f"the config file {paths.config_file}" if inst.source == "config" else str(paths.instances_file)
    if os.environ.get(TOKEN_ENV, "").strip():
        secret = f"not used: {TOKEN_ENV} is set and replaces the login"
    elif inst.client_secret_at is not None:
        secret = f"kept in the {store.secrets.describe(SecretLocation(inst.client_secret_at))}"
    elif inst.source == "config":
        secret = "looked up in the OS keyring, then the plaintext file, when used"
    else:
        secret = "not set"
    return [
        f"Instance {inst.name}",
        f"  declared in        {declared}",
        f"  API URL            {inst.url}",
        f"  SITE_URL           {inst.site_url or '(the API URL)'}",
        f"  machine identity   {inst.client_id or '(not set)'}",
        f"  client secret      {secret}",
        f"  organization slug  {inst.organization_slug or '(not set)'}",
        f"  organization ID    {inst.org_id or '(not set: only older instances need it)'}",
        f"  CA bundle          {inst.ca_bundle or '(system)'}",
        f"  plain http         {'allowed' if inst.allow_http else 'loopback only'}",
        f"  local checks       {paths.instance_checks(inst.name)}",
    ]


def oauth_secret(paths: Paths, action: str, instance: str = LOCAL) -> int:
    if instance != LOCAL:
        print(
            "kms-connect: oauth-secret: --instance does not apply. The OAuth app's client secret is a setting of "
            "this box, for OAuth connections in the local store; an instance redeems OAuth sign-ins with its own "
            "app, whose secret is set on the instance (INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET there).",
            file=sys.stderr,
        )
        return USAGE
    settings = _settings_or_exit(paths)
    if settings is None:
        return USAGE

    store = LocalStore(paths, settings)
    notices = Notices()
    try:
        # The store the secret is recorded in must be accepted before the secret is asked for or
        # written: a refused store leaves the secret store as it was.
        store.read()
    except KmsConnectError as exc:
        notices.drain(store)
        print(f"kms-connect: {exc} Nothing changed.", file=sys.stderr)
        return USAGE
    try:
        if action == "set":
            value = getpass.getpass("OAuth client secret (Value): ") if sys.stdin.isatty() else sys.stdin.readline()
            value = value.strip()
            if not value:
                print("kms-connect: no secret given; nothing changed.", file=sys.stderr)
                return USAGE
            where = store.set_app_secret(value)
            print(f"Saved the OAuth client secret in the {store.secrets.describe(where)}.")
        else:
            store.clear_app_secret()
            print("Removed the OAuth client secret from the secret store.")
    except KmsConnectError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return 1
    finally:
        notices.drain(store)
    return 0

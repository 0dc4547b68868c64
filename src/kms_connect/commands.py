"""Non-interactive subcommands (no Textual): config report and the OAuth client secret."""

from __future__ import annotations

import getpass
import os
import sys

from kms_connect.core.config import CLIENT_SECRET_ENV, load_settings, proxy_settings
from kms_connect.core.errors import KmsConnectError
from kms_connect.core.local_store import LocalStore
from kms_connect.core.paths import Paths


def _settings_or_exit(paths: Paths):  # type: ignore[no-untyped-def]
    try:
        return load_settings(paths.config_file)
    except KmsConnectError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return None


def print_config(paths: Paths) -> int:
    settings = _settings_or_exit(paths)
    if settings is None:
        return 2

    store = LocalStore(paths, settings)
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
    return 0


def oauth_secret(paths: Paths, action: str) -> int:
    settings = _settings_or_exit(paths)
    if settings is None:
        return 2

    store = LocalStore(paths, settings)
    try:
        if action == "set":
            value = getpass.getpass("OAuth client secret (Value): ") if sys.stdin.isatty() else sys.stdin.readline()
            value = value.strip()
            if not value:
                print("kms-connect: no secret given; nothing changed.", file=sys.stderr)
                return 2
            where = store.set_app_secret(value)
            print(f"Saved the OAuth client secret in the {store.secrets.describe(where)}.")
        else:
            store.clear_app_secret()
            print("Removed the OAuth client secret from the secret store.")
    except KmsConnectError as exc:
        print(f"kms-connect: {exc}", file=sys.stderr)
        return 1
    notice = store.take_notice()
    if notice:
        print(f"! {notice.title}: {notice.body}", file=sys.stderr)
    return 0

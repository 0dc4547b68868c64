"""Field rules shared by the forms, the store and (later) the CLI.

Each check returns a message that says what to change, or None. Pure functions with no
heavy imports: the forms call them on every keystroke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

NAME_MAX = 64
DESCRIPTION_MAX = 256
ORG_MAX = 50

_SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
# Azure DevOps: letters, digits and hyphens; starts and ends with a letter or digit; 1-50.
_ORG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")


def slugify(text: str) -> str:
    """A name's slug: lowercase, letters of any alphabet spelled in Latin ones (Zürich → zurich,
    ß → ss, Платежи → platezhi), each run of other characters one '-', at most NAME_MAX long.

    "" when nothing in the name has a Latin spelling (only emoji or symbols, some rare scripts).
    """
    # python-slugify, as most slug makers do it. Its transliteration table is named: `auto` would
    # prefer Unidecode wherever that happens to be installed, and a slug must not depend on that.
    from slugify import slugify as make_slug  # noqa: PLC0415 - 5.5 ms of start-up (benchmarks/imports.py)

    # HTML entities and numeric references are not decoded: a name is typed, not HTML.
    slug = make_slug(text, entities=False, decimal=False, hexadecimal=False, backend="text-unidecode")
    return slug[:NAME_MAX].rstrip("-")


def is_guid(value: str) -> bool:
    return bool(_GUID_RE.match(value))


def check_slug_name(value: str, taken: set[str] | frozenset[str] = frozenset()) -> str | None:
    """A connection name: the slug rule, and unique within its project."""
    if not value:
        return "Name is required."
    if len(value) > NAME_MAX:
        return f"Name is {len(value)} characters long; the limit is {NAME_MAX}."
    if not _SLUG_RE.match(value):
        hint = slugify(value)
        suggestion = f", e.g. “{hint}”" if hint and hint not in taken else ""
        return f"Use lowercase letters, digits and hyphens only{suggestion}."
    if value in taken:
        return f"“{value}” is already used in this project; pick another name."
    return None


def check_project_name(value: str, taken_slugs: set[str] | frozenset[str] = frozenset()) -> str | None:
    """A project name is free text; its derived slug must be usable and unique."""
    name = value.strip()
    if not name:
        return "Name is required."
    if len(name) > NAME_MAX:
        return f"Name is {len(name)} characters long; the limit is {NAME_MAX}."
    slug = slugify(name)
    if not slug:
        return "No slug can be made from this name: add a Latin letter or a digit (a–z, 0–9)."
    if slug in taken_slugs:
        return f"A project with the slug “{slug}” exists already; pick another name."
    return None


def check_description(value: str) -> str | None:
    if len(value) > DESCRIPTION_MAX:
        return f"Description is {len(value)} characters long; the limit is {DESCRIPTION_MAX}."
    return None


def check_guid(value: str, label: str, where: str) -> str | None:
    """Tenant ID / Client ID: a GUID. `where` tells the operator where Azure shows it."""
    if not value:
        return f"{label} is required."
    if not is_guid(value):
        return f"{label} must be a GUID like 00000000-0000-0000-0000-000000000000 ({where})."
    return None


TENANT_WHERE = "Entra ID > Overview > Tenant ID"
CLIENT_WHERE = "App registrations > your app > Application (client) ID"


def check_tenant(value: str, *, allow_domain: bool) -> str | None:
    if allow_domain and value and not is_guid(value):
        if _DOMAIN_RE.match(value):
            return None
        return (
            "Tenant ID must be a GUID (Entra ID > Overview > Tenant ID) "
            "or a tenant domain such as contoso.onmicrosoft.com."
        )
    return check_guid(value, "Tenant ID", TENANT_WHERE)


@dataclass(frozen=True)
class OrgInput:
    """An Organization Name as typed, and what it was reduced to."""

    value: str
    error: str | None = None
    note: str | None = None


def normalize_org(raw: str) -> OrgInput:
    """Reduce a pasted dev.azure.com or visualstudio.com URL to the organization name."""
    text = raw.strip()
    note = None
    if "://" not in text and text.endswith("/"):
        text = text.rstrip("/")
    if (
        "://" in text
        or text.lower().startswith(("dev.azure.com", "www.dev.azure.com"))
        or ".visualstudio.com" in text.lower()
    ):
        url = urlsplit(text if "://" in text else f"https://{text}")
        host = (url.hostname or "").lower()
        parts = [p for p in url.path.split("/") if p]
        if host in ("dev.azure.com", "www.dev.azure.com") and parts:
            text, note = parts[0], "Reduced the pasted URL to the organization name."
        elif host.endswith(".visualstudio.com") and host.count(".") == 2:
            text, note = host.split(".")[0], "Reduced the pasted URL to the organization name."
        else:
            return OrgInput(
                text,
                "Paste the organization name, or a URL like https://dev.azure.com/<organization>.",
            )
    return OrgInput(text, check_org(text), note)


def check_org(value: str) -> str | None:
    if not value:
        return "Organization Name is required (the name in https://dev.azure.com/<name>)."
    if len(value) > ORG_MAX:
        return f"Organization Name is {len(value)} characters long; Azure DevOps allows {ORG_MAX}."
    if not _ORG_RE.match(value):
        return (
            "Organization Name may contain letters, digits and hyphens, and must start and end with a letter or digit."
        )
    return None


def clean_secret(value: str) -> str:
    """Pasted secrets often carry a trailing newline or spaces: they are never part of it."""
    return value.strip()

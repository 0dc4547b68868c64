from __future__ import annotations

import re
import sys
import types

import pytest

from kms_connect.core import validation as v

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("My Project", "my-project"),
        ("  Prod / PAT #1 ", "prod-pat-1"),
        ("a" * 80, "a" * 64),
        ("a" * 63 + " b", "a" * 63),  # cut at 64, never ending in a hyphen
        ("--Ops--", "ops"),
        # Letters of other alphabets are spelled in Latin ones, as slug libraries do.
        ("Zürich Ödeme", "zurich-odeme"),
        ("zahlung-übersicht", "zahlung-ubersicht"),
        ("Straße", "strasse"),
        ("ÄÖ", "ao"),
        ("Crème brûlée", "creme-brulee"),
        ("Łódź Kraków", "lodz-krakow"),
        ("Платежи", "platezhi"),
        ("Ж" * 40, "zh" * 32),  # the limit counts the slug, not the name
        # Nothing with a Latin spelling: no slug.
        ("🚀🚀", ""),
        ("!!!", ""),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert v.slugify(text) == slug


def test_slug_is_kept_to_what_the_kms_accepts() -> None:
    """Lowercase letters, digits and single hyphens between them, 1-64 (kms-api.md §1.4)."""
    for text in ("Zürich Ödeme", "  Ünïcödé -- ÅÉÎ ", "Проект № 7", "a" * 63 + "ß", "日本語のプロジェクト"):
        slug = v.slugify(text)
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) and len(slug) <= v.NAME_MAX, (text, slug)
        assert v.slugify(slug) == slug  # a slug is its own slug
        assert v.check_slug_name(slug) is None


def test_slug_does_not_depend_on_an_installed_unidecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-slugify prefers Unidecode when it is installed: the slug must come from one table only."""
    fake = types.ModuleType("unidecode")
    fake.unidecode = lambda text: "other"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "unidecode", fake)
    assert v.slugify("Zürich") == "zurich"


def test_transliterated_suggestions() -> None:
    assert "e.g. “zahlung-ubersicht”" in (v.check_slug_name("zahlung-übersicht") or "")
    assert v.check_project_name("Zürich Ödeme") is None
    assert "slug “zurich-odeme” exists" in (v.check_project_name("Zurich Odeme", {"zurich-odeme"}) or "")
    assert v.check_project_name("Платежи") is None


def test_slug_name_rules() -> None:
    assert v.check_slug_name("prod-pat") is None
    assert v.check_slug_name("") == "Name is required."
    assert "e.g. “prod-pat”" in (v.check_slug_name("Prod PAT") or "")
    assert "65 characters" in (v.check_slug_name("a" * 65) or "")
    assert "already used" in (v.check_slug_name("x", {"x"}) or "")


def test_project_names() -> None:
    assert v.check_project_name("Payments") is None
    assert "slug “payments” exists" in (v.check_project_name("PAYMENTS", {"payments"}) or "")
    for nothing_latin in ("!!!", "🚀 🛰"):
        assert (v.check_project_name(nothing_latin) or "").startswith("No slug can be made from this name: add a")


def test_description_limit() -> None:
    assert v.check_description("x" * 256) is None
    assert "257 characters" in (v.check_description("x" * 257) or "")


def test_tenant_and_client_ids() -> None:
    assert v.check_tenant(GUID, allow_domain=False) is None
    assert "GUID" in (v.check_tenant("contoso.onmicrosoft.com", allow_domain=False) or "")
    assert v.check_tenant("contoso.onmicrosoft.com", allow_domain=True) is None
    assert "tenant domain" in (v.check_tenant("not a tenant", allow_domain=True) or "")
    assert "Client ID must be a GUID" in (v.check_guid("abc", "Client ID", v.CLIENT_WHERE) or "")


@pytest.mark.parametrize(
    ("raw", "org", "noted"),
    [
        ("contoso", "contoso", False),
        ("https://dev.azure.com/contoso/", "contoso", True),
        ("https://dev.azure.com/contoso/Project/_git/repo", "contoso", True),
        ("dev.azure.com/fabrikam", "fabrikam", True),
        ("https://fabrikam.visualstudio.com/", "fabrikam", True),
        ("  contoso-2  ", "contoso-2", False),
    ],
)
def test_org_urls_reduced(raw: str, org: str, noted: bool) -> None:
    result = v.normalize_org(raw)
    assert (result.value, result.error, bool(result.note)) == (org, None, noted)


@pytest.mark.parametrize("bad", ["-contoso", "contoso-", "con_toso", "con toso", "a" * 51, ""])
def test_org_rules(bad: str) -> None:
    assert v.normalize_org(bad).error


def test_foreign_url_rejected() -> None:
    assert "dev.azure.com" in (v.normalize_org("https://github.com/contoso").error or "")


def test_secrets() -> None:
    # A method's own rules live in its spec (core/methods/<method>.py).
    from kms_connect.core.methods.access_token import check_access_token
    from kms_connect.core.methods.client_secret import client_secret_hint

    assert v.clean_secret("  abc\n") == "abc"
    assert check_access_token("") and check_access_token("ab cd")
    assert check_access_token("abcd") is None
    assert "Value" in (client_secret_hint(GUID) or "")
    assert client_secret_hint("Abc8Q~somethingsecret") is None

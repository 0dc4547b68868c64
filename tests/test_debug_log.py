"""--debug writes a redacted log: secret values never reach it."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import ConnectionDraft
from kms_connect.core.redact import redact, redact_url, setup_debug_log
from kms_connect.core.status import Method

TOKEN = "pat-visible-nowhere-0123456789"


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "state" / "debug.log"
    setup_debug_log(path)
    yield path
    logger = logging.getLogger("kms_connect")
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()


async def test_debug_log_has_operations_not_secrets(store: LocalStore, debug_log: Path) -> None:
    project = await store.create_project("P")
    draft = ConnectionDraft(
        name="x", method=Method.ACCESS_TOKEN, org_name="contoso", secrets={"access_token": SecretStr(TOKEN)}
    )
    await store.create_connection(project.id, draft)
    logging.getLogger("kms_connect.test").debug("a careless message with %s inside", TOKEN)
    text = debug_log.read_text()
    assert "secret access_token of connection" in text and "wrote" in text
    assert TOKEN not in text
    assert "a careless message with ••• inside" in text
    assert stat.S_IMODE(debug_log.stat().st_mode) == 0o600


def test_redact_patterns() -> None:
    assert redact("Authorization: Bearer eyJ0eXAiOi.abc.def") == "Authorization: Bearer •••"
    assert redact("client_secret=abc123&x=1") == "client_secret=•••&x=1"
    assert redact('{"clientSecret": "abc"}') == '{"clientSecret": "•••"}'
    assert redact_url("http://u:pw@proxy:3128") == "http://u:•••@proxy:3128"
    assert redact_url("http://proxy:3128") == "http://proxy:3128"

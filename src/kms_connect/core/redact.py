"""Keep secrets out of logs and messages: known values and credential-looking patterns."""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kms_connect.core.methods import SPECS

_known: set[str] = set()
_lock = threading.Lock()
MASK = "•••"

# Names whose values are secrets wherever they appear (OAuth 2.0's own, in Entra's requests and
# answers), and those of each method's credentials (its spec's `redact`, e.g. a KMS instance's keys).
_COMMON = ("client_secret", "access_token", "refresh_token", "password", "code")
_NAMES = "|".join(dict.fromkeys([*_COMMON, *(name for spec in SPECS for name in spec.redact)]))
_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*(?:basic|bearer)\s+)[^\s,;]+"),
    re.compile(rf"(?i)((?:{_NAMES})=)[^&\s]+"),
    re.compile(rf'(?i)("(?:{_NAMES})"\s*:\s*")[^"]*'),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that redact() masks it wherever it appears."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_url(url: str) -> str:
    """Hide the password in user:password@host URLs (proxies)."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:{MASK}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def setup_debug_log(path: Path) -> None:
    """--debug: a redacted log in the state dir, 0600."""

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("kms_connect")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

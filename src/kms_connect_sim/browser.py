"""The operator's browser, for the demo: opens a sign-in address and reads where it lands.

It plays the person, not a service: it sends the GET a browser sends to the Entra simulator's
authorize endpoint (already signed in there as `world.browser_user`, as a browser with a session
cookie would be), follows redirects only while they stay on that simulator, and stops at the
first address outside it. That address is what a person copies from the address bar: Entra
redirects to the app's redirect URI (http://localhost, or the KMS web app's callback, whose page
would refuse a state it did not create), so the page itself is never loaded. It opens nothing
but the simulator: the demo never reaches the internet.
"""

from __future__ import annotations

import html
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

MAX_HOPS = 5  # redirects followed within the Entra simulator before giving up


@dataclass(frozen=True)
class Visit:
    """Where a sign-in ended: an address to paste back, or an Entra error page shown instead."""

    landed_on: str | None  # the address bar after Entra redirected away (code or error in its query)
    page: str = ""  # the text of the page the browser stayed on, when Entra did not redirect


class SimulatedBrowser:
    def __init__(self, entra_url: str, ca_bundle: Path | None) -> None:
        self.entra_url = entra_url.rstrip("/")
        self.ca_bundle = ca_bundle

    def open(self, url: str) -> Visit:
        """Open `url` (an address on the Entra simulator) and return where the browser ends up."""
        if not self._on_entra(url):
            raise ValueError(f"the simulated browser opens only the simulated Entra ID ({self.entra_url})")
        verify: ssl.SSLContext | bool = True
        if self.ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(self.ca_bundle))
        with httpx.Client(verify=verify, timeout=15, follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_HOPS):
                answer = client.get(url, headers={"Accept": "text/html"})
                location = answer.headers.get("location")
                if not answer.is_redirect or not location:
                    return Visit(None, page_text(answer.text))
                url = str(answer.url.join(location))
                if not self._on_entra(url):
                    return Visit(url)
        return Visit(None, "Too many redirects")

    def _on_entra(self, url: str) -> bool:
        return url == self.entra_url or url.startswith(self.entra_url + "/")


def page_text(page: str) -> str:
    """An HTML page as the words a person reads on it."""
    text = re.sub(r"<(title|script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())

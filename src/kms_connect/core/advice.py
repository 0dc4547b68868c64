"""Where to act in kms-connect, named in words, never by a key.

Core text is read in cron logs and JSON too (`kms-connect check`), where a key means nothing; keys
can also be remapped. So advice names the screen and the action, in parentheses, as one of the
phrases below; the TUI adds the key that does it, as remapped (ui/key_display.with_key_hints).
"""

from __future__ import annotations

# The phrases, each written "(…)" in advice; the TUI knows them by these constants.
CREDENTIALS = "App Connections → Credentials"
EDIT_INSTANCE = "Source → Edit instance"
RELOAD = "Reload"
PHRASES = (CREDENTIALS, EDIT_INSTANCE, RELOAD)

REPLACE_CREDENTIALS = f"Replace the credentials in kms-connect ({CREDENTIALS})"
NO_CREDENTIALS_HERE = (
    f"No credentials are kept here for this connection. Replace its credentials in kms-connect ({CREDENTIALS}) "
    "to check it."
)

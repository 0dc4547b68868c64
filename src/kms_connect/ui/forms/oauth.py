"""OAuth form: sign in through Microsoft Entra ID with no browser on this box, then check and save.

Device code (the default without a display): show the code, the URL and a QR code, poll until the
operator signs in elsewhere. Browser redirect: show the authorize URL; the operator signs in
anywhere and pastes back the address they land on (state checked, PKCE). The sign-in runs in a
thread worker of this form, so closing the form cancels it; the check then runs as every other
method's does (forms/check_view.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, RadioButton, RadioSet, Static
from textual.worker import get_current_worker

from kms_connect.core.files import atomic_write
from kms_connect.core.methods import Method
from kms_connect.core.models import OAuthAvailability
from kms_connect.core.sign_ins import Problem, ProblemError, SignInCancelled, entra_problem
from kms_connect.ui.errors import describe
from kms_connect.ui.forms.base import ConnectionForm
from kms_connect.ui.widgets.choices import TextRadioButton
from kms_connect.ui.widgets.device_code_panel import DeviceCodePanel
from kms_connect.ui.widgets.form_field import FormField
from kms_connect.ui.widgets.redirect_panel import RedirectPanel

if TYPE_CHECKING:
    from kms_connect.core.models import ConnectionDraft, OAuthAvailability
    from kms_connect.core.sign_ins import DeviceSignIn, RedirectSignIn, Token


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class OAuthForm(ConnectionForm):
    METHOD = Method.OAUTH
    INTRO = "Sign in with a Microsoft Entra ID account; no browser is needed on this box."
    KEYS = "^s sign in · esc cancel"
    SUBMIT_LABEL = "Sign in"
    BINDINGS = [
        Binding("ctrl+y", "copy", "Copy code / URL", show=False, id="oauth.copy"),
        Binding("ctrl+t", "save_url", "Save URL to a file", show=False, id="oauth.save_url"),
    ]

    def __init__(self, project_id: str, taken_names: set[str], **kw: Any) -> None:
        super().__init__(project_id, taken_names, **kw)
        self.oauth: OAuthAvailability | None = None
        self.device: DeviceSignIn | None = None
        self.redirect: RedirectSignIn | None = None
        self.pending: ConnectionDraft | None = None  # the fields, while the sign-in runs
        self.attempt = 0  # which sign-in is current; results of older ones are dropped
        self.attempt_active = False
        self.redeeming = False
        self.instance_flow: tuple[str, str] | None = None  # (authorize URL, state) on a KMS instance

    def compose_extra(self) -> ComposeResult:
        with Horizontal(classes="mode-row", id="mode-row"):
            yield Static("Sign in with", classes="field-label mode-label")
            with RadioSet(id="mode", compact=True):
                # (•) / ( ): which one is chosen reads without colour
                yield TextRadioButton("Device code", value=not has_display(), id="mode-device", compact=True)
                yield TextRadioButton(
                    "Browser redirect (paste back)", value=has_display(), id="mode-redirect", compact=True
                )
        yield Horizontal(id="signin")

    def on_mount(self) -> None:
        super().on_mount()
        self._load_oauth()

    def on_unmount(self) -> None:
        self._stop_signin(ui=False)

    @work(exclusive=True, group="oauth-config", exit_on_error=False)
    async def _load_oauth(self) -> None:
        try:
            self.oauth = await self.app.ws.backend.oauth_availability()
        except Exception as exc:
            self.oauth = OAuthAvailability(
                available=False, reason="Cannot tell whether OAuth is available:", fix=describe(exc)
            )
            self.status(f"✗ {self.oauth.reason} {self.oauth.fix}")
            return
        if self.oauth.redeemed_by_instance:  # the instance redeems the code: only a browser sign-in fits
            self.query_one("#mode-redirect", RadioButton).value = True
            self.query_one("#mode-row").display = False
            if self.INTRO:
                self.query_one("#intro", Static).update(
                    "Sign in on any machine with a browser; the instance redeems the sign-in and keeps it."
                )

    @property
    def device_mode(self) -> bool:
        return self.query_one("#mode-device", RadioButton).value

    @property
    def signing_in(self) -> bool:
        return self.attempt_active

    # --- sign-in ------------------------------------------------------------------------------
    # Each sign-in is an "attempt"; thread workers hand their results back through `_deliver`,
    # which drops anything from an attempt that was cancelled (Esc, form closed) in the meantime.
    def submit_valid(self, draft: ConnectionDraft) -> None:
        if self.signing_in:
            return
        if self.oauth is None or not self.oauth.available or not self.oauth.client_id:
            reason = self.oauth.reason + " " + self.oauth.fix if self.oauth else "The OAuth settings are loading."
            self.status(f"✗ {reason}")
            return
        self.pending, self.attempt, self.attempt_active = draft, self.attempt + 1, True
        self._show_signin(True)
        if self.oauth.redeemed_by_instance:
            self._instance_signin(draft)
        elif self.device_mode:
            self.status("… Asking Entra ID for a device code")
            self._device_signin(draft, self.attempt)
        else:
            self.status("… Preparing the sign-in address")
            self._redirect_start(draft, self.attempt)

    def _show_signin(self, on: bool) -> None:
        self.query_one("#fields").display = not on
        self.query_one("#mode-row").display = not on
        if self.INTRO:
            self.query_one("#intro").display = not on
        self.query_one("#submit", Button).disabled = on
        if not on:
            self.query_one("#signin").remove_children()

    def _deliver(self, attempt: int, fn: Any, *args: Any) -> bool:
        """From a thread worker: run fn on the UI, unless that attempt is over. False if it is."""
        if attempt != self.attempt or not self.attempt_active:
            return False
        try:
            self.app.call_from_thread(self._if_current, attempt, fn, *args)
        except Exception:  # the app is shutting down
            return False
        return True

    def _if_current(self, attempt: int, fn: Any, *args: Any) -> None:
        if attempt == self.attempt and self.attempt_active and self.is_mounted:
            fn(*args)

    def _failed(self, attempt: int, exc: BaseException) -> None:
        problem = exc.problem if isinstance(exc, ProblemError) else Problem("Sign-in failed", describe(exc))
        self._deliver(attempt, self._signin_failed, problem)

    @work(thread=True, exclusive=True, group="oauth-signin", exit_on_error=False)
    def _device_signin(self, draft: ConnectionDraft, attempt: int) -> None:
        assert self.oauth is not None and self.oauth.client_id
        worker = get_current_worker()
        try:
            sign = self.app.ws.sign_ins.device(self.oauth.client_id, draft.tenant_id or "")
        except Exception as exc:
            self._failed(attempt, exc)
            return
        if worker.is_cancelled or not self._deliver(attempt, self._show_device, sign):
            sign.cancel()
            sign.close()
            return
        try:
            token = sign.wait(lambda: worker.is_cancelled or attempt != self.attempt)
        except SignInCancelled:
            return
        except Exception as exc:
            self._failed(attempt, exc)
            return
        self._deliver(attempt, self._signed_in, token)

    def _show_device(self, sign: DeviceSignIn) -> None:
        self.device = sign
        self.status("")
        self.query_one("#buttons-row").display = False
        border = 2 if self.app.size.height >= 28 else 1
        self.query_one("#signin").mount(DeviceCodePanel(sign, qr_border=border))

    @work(thread=True, exclusive=True, group="oauth-signin", exit_on_error=False)
    def _redirect_start(self, draft: ConnectionDraft, attempt: int) -> None:
        assert self.oauth is not None and self.oauth.client_id
        try:
            sign = self.app.ws.sign_ins.redirect(
                self.oauth.client_id,
                draft.tenant_id or "",
                self.oauth.redirect_uri,
                confidential=self.oauth.has_client_secret,
            )
        except Exception as exc:
            self._failed(attempt, exc)
            return
        if not self._deliver(attempt, self._show_redirect, sign):
            sign.close()

    def _show_redirect(self, sign: RedirectSignIn) -> None:
        self.redirect = sign
        kind = "confidential client, Web redirect URI" if sign.confidential else "public client, no secret sent"
        self.status(f"ℹ Sign-in as a {kind}; the code works once, for a few minutes.")
        panel = RedirectPanel(sign.auth_uri, sign.redirect_uri)
        self.query_one("#signin").mount(panel)  # it focuses its paste field itself

    # --- OAuth on a KMS instance: the URL is built here, the instance redeems the code ---------
    def _instance_signin(self, draft: ConnectionDraft) -> None:
        assert self.oauth is not None and self.oauth.client_id
        url, state = self.app.ws.sign_ins.instance_url(
            draft.tenant_id or "", self.oauth.client_id, self.oauth.redirect_uri
        )
        self.instance_flow = (url, state)
        self.status("ℹ The code works once, for a few minutes: paste it back soon.")
        panel = RedirectPanel(
            url,
            self.oauth.redirect_uri,
            note=(
                "If the browser was sent on to the KMS login page, the code is still in its history: look for "
                f"the address starting with {self.oauth.redirect_uri}."
            ),
        )
        self.query_one("#signin").mount(panel)  # it focuses its paste field itself

    def _instance_pasted(self, field: FormField) -> None:
        assert self.instance_flow is not None and self.oauth is not None and self.pending is not None
        try:
            params = self.app.ws.sign_ins.pasted(field.value, self.instance_flow[1], self.oauth.redirect_uri)
        except ProblemError as exc:
            self._paste_failed(exc.problem)
            return
        if "error" in params:
            self._paste_failed(entra_problem(params))
            return
        draft = self.pending
        draft.secrets["code"] = SecretStr(params["code"])
        self._stop_signin(cancel=False)
        self.status("… Sending to the instance, which redeems the code with Entra ID")
        self.saving = True
        self._save(draft, None)

    def save_failed(self, exc: BaseException) -> None:
        if self.oauth is not None and self.oauth.redeemed_by_instance:
            self.pending = None
            self.status(f"{self.status_text} An authorization code works once: press ^s to sign in again.")

    def field_entered(self, field: FormField) -> bool:
        if field.spec.key == "pasted" and self.instance_flow is not None and self.attempt_active:
            self._instance_pasted(field)
            return True
        if field.spec.key != "pasted":
            return super().field_entered(field)
        if self.redirect is not None and not self.redeeming:
            self.redeeming = True  # one redemption at a time: a code works once
            field.show(None, "… Redeeming the code with Entra ID")
            self._redeem(self.redirect, field.value, self.attempt)
        return True

    @work(thread=True, group="oauth-redeem", exit_on_error=False)
    def _redeem(self, sign: RedirectSignIn, pasted: str, attempt: int) -> None:
        try:
            token = sign.complete(pasted)
        except Exception as exc:
            problem = exc.problem if isinstance(exc, ProblemError) else Problem("Not signed in", describe(exc))
            self._deliver(attempt, self._paste_failed, problem)
            return
        self._deliver(attempt, self._signed_in, token)

    def _paste_failed(self, problem: Any) -> None:
        # The panel stays, with what was pasted: fix it or paste the address again.
        self.redeeming = False
        field = self.query_one("#field-pasted", FormField)
        field.show(f"{problem.result}. {problem.text()}")
        field.input.focus()

    def _signin_failed(self, problem: Any) -> None:
        self._stop_signin()
        self.status(f"✗ Sign-in failed · {problem.result}. {problem.text()}")

    def _signed_in(self, token: Token) -> None:
        draft = self.pending
        self.redeeming = False  # done with the redirect's client: let _stop_signin close it
        self._stop_signin(cancel=False)
        if draft is None or token.cache_blob is None:
            return
        draft.secrets["token_cache"] = token.cache_blob
        self.status(f"✓ Signed in as {token.who}")
        self.start_check(draft)

    def _stop_signin(self, *, cancel: bool = True, ui: bool = True) -> None:
        """End the current attempt: its workers' late results are dropped (see _deliver)."""
        if cancel and self.device is not None:
            self.device.cancel()  # msal's poll loop notices within a second
        if self.redirect is not None and not self.redeeming:
            self.redirect.close()  # (a running redemption still uses it; it ends on its own)
        self.device = self.redirect = None
        self.attempt_active, self.redeeming, self.instance_flow = False, False, None
        if cancel:
            self.pending = None
        if ui:
            self.query_one("#buttons-row").display = True
            self._show_signin(False)

    # --- keys ---------------------------------------------------------------------------------
    def action_cancel(self) -> None:
        if self.signing_in:
            self._stop_signin()
            self.status("⊘ Sign-in cancelled. ^s starts again; Esc closes.")
            self.query(Input).first().focus()
            return
        super().action_cancel()

    def _url(self) -> str | None:
        if self.redirect is not None:
            return self.redirect.auth_uri
        return self.instance_flow[0] if self.instance_flow else None

    def action_copy(self) -> None:
        if self.device is not None:
            self.app.copy_to_clipboard(self.device.user_code)
            self.notify("Code copied to the clipboard (OSC 52).", markup=False)
        elif self._url():
            self.app.copy_to_clipboard(self._url() or "")
            self.notify("Sign-in address copied to the clipboard (OSC 52).", markup=False)

    def action_save_url(self) -> None:
        url = self._url()
        if url is None or self.app.paths is None:
            return

        path = self.app.paths.state_dir / "oauth-sign-in-url.txt"
        try:
            atomic_write(path, (url + "\n").encode())
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc.strerror or exc}", markup=False, severity="error")
            return
        self.notify(f"Sign-in address saved to {path} (mode 0600).", markup=False, timeout=10)

    def action_save_anyway(self) -> None:
        if self.draft is None or "token_cache" not in self.draft.secrets:
            self.status("ℹ An OAuth connection needs a sign-in before it can be saved: press ^s to sign in.")
            return
        super().action_save_anyway()

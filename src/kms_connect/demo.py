"""`kms-connect demo`: the whole app against simulated Entra ID, Azure DevOps and a Hanzo KMS instance.

Everything runs on loopback in this process, in a throwaway workspace that is deleted on exit: a
sample of connections of each method, some healthy and some failing the way real ones do (an
expired PAT, a PAT without the Release scope, a secret ID pasted as the secret, a service principal
not added to the organization). Nothing touches your real config, store or keyring.

Two connections name target projects, and the demo proves their write access once at the start
(issue 18), in place of their plain re-check: `sync-pat` may create, update and delete variable
groups in Platform and Payments; `sync-reader-sp` is only a Reader in Platform's Library, so its
create is refused there. The simulators' groups are pretend ones, so no confirmation is asked; `w`
on App Connections runs the proof again, after the app's own confirmation.

Every sign-in finishes by itself, the way a person would finish it, and says so: device codes are
approved by the Entra simulator after a few polls (the pretend phone), and a sign-in address the
app shows (browser redirect, OAuth on the instance) is opened by a simulated browser that pastes
back the address it lands on, through the same field and Enter as a paste (`DemoApp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from kms_connect.core.azure.entra import EntraConfig
from kms_connect.core.azure.sign_in import start_device_flow
from kms_connect.core.config import load_settings
from kms_connect.core.instances import Instance
from kms_connect.core.local_store import LocalStore
from kms_connect.core.models import Connection, ConnectionDraft
from kms_connect.core.paths import Paths
from kms_connect.core.sources import save_instance
from kms_connect.core.status import Method
from kms_connect.demo_workspace import demo_workspace, remove_stale_workspaces
from kms_connect.ui.app import KmsConnectApp
from kms_connect.ui.exit_signals import hold_exit_signals
from kms_connect.ui.widgets.redirect_panel import RedirectPanel
from kms_connect_sim.browser import SimulatedBrowser
from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import SAMPLE_PAYMENTS, sample_kms_world
from kms_connect_sim.sandbox import PAYMENTS, PLATFORM, Sandbox

if TYPE_CHECKING:
    from kms_connect.core.check_runner import LiveCheck

TITLE = "kms-connect · SIMULATED DEMO (nothing here is real)"
BROWSER = "SIMULATED browser"  # how every line about the pretend browser starts


class DemoApp(KmsConnectApp):
    """The app, plus an operator's browser that opens each sign-in address shown and pastes back
    where it lands. The app itself only announces the address (RedirectPanel.Ready) and takes the
    paste as from the keyboard (RedirectPanel.paste_back): no sign-in code knows about the demo."""

    BROWSER_DELAY = 2.0  # seconds, a person's pace: the address stays on screen before the paste
    kms: KmsSimulator | None = None  # the simulated instance, for tests and scripts to look into
    sandbox: Sandbox | None = None  # the simulated Entra ID and Azure DevOps, likewise

    def __init__(
        self, *args: Any, browser: SimulatedBrowser, browser_user: str, provers: list[Connection], **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.browser, self.browser_user = browser, browser_user
        self.provers = provers  # the connections whose write access the first check of all proves
        self._to_prove: dict[str, Connection] = {}

    def prove_at_first_check(self) -> None:
        """The first re-check of all (the dashboard's) proves the write access of `provers` in place
        of their plain check: each replaced at once, as a second `v` replaces a check under way.
        Every later check is plain, as the operator's are."""
        self._to_prove = {c.id: c for c in self.provers}
        self.checks.listen(self._first_check)

    def _first_check(self, live: LiveCheck) -> None:
        if not self._to_prove:
            return
        loop = asyncio.get_running_loop()
        conn = self._to_prove.pop(live.key, None)
        if conn is not None:  # next, not from inside the runner's own call
            loop.call_soon(self._prove, self.backend, conn)
        # Only the round that brought this news: it starts every row's check in one go.
        loop.call_soon(self._to_prove.clear)

    def _prove(self, backend: Any, conn: Connection) -> None:
        if backend is self.backend and backend is not None:  # a switch to the instance drops it
            self.checks.recheck(backend, conn, prove_in=[])  # []: its own target projects

    def on_redirect_panel_ready(self, message: RedirectPanel.Ready) -> None:
        # Exclusive: a sign-in started again replaces the one still waiting to be pasted.
        self.run_worker(self._browse(message.panel), group="simulated-browser", exclusive=True, exit_on_error=False)

    async def _browse(self, panel: RedirectPanel) -> None:
        self.notify(f"{BROWSER}: opening the sign-in address as {self.browser_user}…", markup=False)
        await asyncio.sleep(self.BROWSER_DELAY)
        if not panel.is_mounted:
            return
        try:
            visit = await asyncio.to_thread(self.browser.open, panel.auth_uri)
        except (httpx.HTTPError, ValueError) as exc:
            self.notify(f"{BROWSER}: could not open the sign-in address: {exc}", markup=False, severity="error")
            return
        if visit.landed_on is None:  # a person would read the page and paste nothing
            text = f"{BROWSER}: Entra ID showed a page and did not send it on: {visit.page[:300]}"
            self.notify(text, markup=False, severity="error", timeout=15)
            return
        if await panel.paste_back(visit.landed_on):
            self.notify(_landed_line(visit.landed_on, self.browser_user), markup=False, timeout=8)


def _landed_line(address: str, user: str) -> str:
    """What the simulated browser did, without the code (a secret, even a pretend one)."""
    parts = urlsplit(address)
    params = dict(parse_qsl(parts.query))
    where = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if "error" in params:
        return f"{BROWSER}: Entra ID sent it back to {where} with error={params['error']}; pasted that address."
    return f"{BROWSER}: signed in as {user} and pasted the address it landed on ({where}?code=…)."


async def _seed(store: Any, sample: Any, box: Any) -> list[Connection]:
    """The demo's projects and connections; returns those whose write access the demo proves."""
    org, tenant = sample.org.name, sample.tenant.id

    def pat(name: str, token: str, description: str = "", targets: tuple[str, ...] = ()) -> ConnectionDraft:
        return ConnectionDraft(
            name=name,
            description=description,
            method=Method.ACCESS_TOKEN,
            org_name=org,
            secrets={"access_token": SecretStr(token)},
            target_projects=list(targets),
        )

    def sp(name: str, app: Any, secret: str, description: str = "", targets: tuple[str, ...] = ()) -> ConnectionDraft:
        return ConnectionDraft(
            name=name,
            description=description,
            method=Method.CLIENT_SECRET,
            org_name=org,
            tenant_id=tenant,
            client_id=app.client_id,
            secrets={"client_secret": SecretStr(secret)},
            target_projects=list(targets),
        )

    payments = await store.create_project("Payments Platform", "Card and ledger services")
    lake = await store.create_project("Data Lake", "Ingestion and analytics")
    tools = await store.create_project("Internal Tools")
    for draft in (
        pat("release-pat", sample.pat_ok.token, "Release pipelines"),
        pat("vars-only-pat", sample.pat_no_release.token, "Created without the Release scope"),
        pat("vendor-pat", sample.pat_expired.token, "Expired last month"),
        sp("pipelines-sp", sample.sp_app, sample.sp_secret, "Service principal"),
    ):
        await store.create_connection(payments.id, draft)
    # The write proof (issue 18): variable groups in contoso-dev's Platform and Payments.
    provers = [
        await store.create_connection(payments.id, draft)
        for draft in (
            pat(
                "sync-pat", sample.pat_vg_manage.token, "Syncs secrets into Platform and Payments", (PLATFORM, PAYMENTS)
            ),
            sp(
                "sync-reader-sp",
                sample.sp_library_reader,
                sample.sp_library_reader_secret,
                "Only a Reader in the Library of Platform",
                (PLATFORM,),
            ),
        )
    ]
    for draft in (
        sp("lake-sp", sample.sp_app, sample.sp_app.secrets[0].id, "The secret ID was pasted, not its value"),
        sp("lake-new-sp", sample.sp_outsider, sample.sp_outsider_secret, "Not added to the organization"),
    ):
        await store.create_connection(lake.id, draft)
    # An OAuth sign-in, approved on the pretend phone at the first poll.
    sign = await asyncio.to_thread(
        start_device_flow, EntraConfig(box.authority_host, box.ca_bundle), sample.oauth_app.client_id, tenant
    )
    box.world.set_device_flow(sign.user_code, "approved", sample.alice.upn)
    token = await asyncio.to_thread(sign.wait)
    if token.cache_blob is not None:
        await store.create_connection(
            tools.id,
            ConnectionDraft(
                name="alice-oauth",
                description="Signed in with a device code",
                method=Method.OAUTH,
                org_name=org,
                tenant_id=sample.tenant.domains[0],
                secrets={"token_cache": token.cache_blob},
            ),
        )
    return provers


def build_demo(root: Path, stack: contextlib.ExitStack, *, open_dashboard: bool = True) -> Any:
    """The demo app on a fresh workspace in `root`; the simulators stop when `stack` closes.

    `open_dashboard`: start on the status dashboard, checking everything (False: on Projects, as
    an operator would; the screenshots use both)."""

    box = stack.enter_context(Sandbox(root / "ca"))
    sample = box.sample
    assert sample is not None
    box.world.auto_approve_after = 3  # device codes typed in the demo approve themselves
    kms_world, identity = sample_kms_world(
        oauth_client_id=sample.oauth_web_app.client_id, oauth_client_secret=sample.web_secret
    )
    kms_world.add_connection(
        "ado-release",
        "access-token",
        {"accessToken": sample.pat_ok.token, "orgName": sample.org.name},
        project_id=SAMPLE_PAYMENTS,
        description="Created in the web UI",
    )
    # Two Secret Syncs on the instance, one healthy and one refused a Library role; their jobs run by
    # themselves, as a server's do (`y` on the instance's App Connections, `t` runs one again).
    add_sample_syncs(kms_world, sample)
    # Secrets in Payments' Staging too, so a sync made with `a` there has something to push.
    staging = {"DB_PASSWORD": "sim-staging-db-password", "STRIPE_API_KEY": "sim_sk_test_staging"}
    kms_world.add_secrets(SAMPLE_PAYMENTS, "staging", "/", staging)
    kms_world.sync_jobs = "auto"
    kms = stack.enter_context(
        KmsSimulator(kms_world, box.world, entra_url=box.entra.url, devops_url=box.devops_url, ca_bundle=box.ca_bundle)
    )
    config = root / "config.toml"
    config.write_text(
        box.config_toml() + f'\n[oauth]\nclient_id = "{sample.oauth_app.client_id}"\n'
        '\n[secrets]\nbackend = "file"\n'
        "\n[status]\ninterval = 60  # a demo left on a screen stays live\n"
    )
    paths = Paths(config_file=config, data_dir=root / "data", state_dir=root / "state")
    settings = load_settings(config)
    store = LocalStore(paths, settings)
    provers = _in_own_loop(_seed(store, sample, box))
    # Pretend secrets in a throwaway workspace's file, on purpose: its plaintext notice is not for the demo.
    store.take_notice()
    save_instance(
        paths,
        settings,
        store,
        Instance(name="demo-kms", url=kms.url, site_url=kms_world.site_url, client_id=identity.client_id),
        identity.client_secret,
    )
    app = DemoApp(
        paths=paths,
        settings=settings,
        backend=store,
        local=store,
        on_ready=_show_status if open_dashboard else None,
        browser=SimulatedBrowser(box.authority_host, box.ca_bundle),
        browser_user=box.world.browser_user or "",
        provers=provers,
    )
    app.title, app.banner, app.kms, app.sandbox = TITLE, " · SIMULATED", kms, box
    return app


def _in_own_loop(coro: Any) -> Any:
    """Run `coro` to the end in a thread with its own event loop (callers may already have one);
    returns what it returns."""

    errors: list[BaseException] = []
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def run_demo() -> int:
    remove_stale_workspaces()  # of demos killed before they could remove theirs (kill -9)
    # A SIGHUP or SIGTERM while the demo sets up or tears down is acted on once that is done: cut
    # off, it could leave the workspace behind. While the app runs, the app takes them.
    with hold_exit_signals() as held, demo_workspace() as root, contextlib.ExitStack() as stack:
        app = build_demo(root, stack)
        if not held.signals:
            app.run()
    return app.return_code or held.status or 0


def _show_status(app: Any) -> None:
    """Open on the status dashboard and check everything, so the demo is live from the first second;
    the connections with target projects prove their write access instead (DemoApp.provers)."""
    app.prove_at_first_check()
    app.action_dashboard(check_all=True)  # once the rows are listed: a refresh later may be too soon

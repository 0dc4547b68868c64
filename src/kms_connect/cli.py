"""Command line: `kms-connect` opens the TUI; `kms-connect config` shows where things are."""

from __future__ import annotations

import argparse
import logging
import sys

from kms_connect import APP_NAME, __version__
from kms_connect.core.paths import default_paths
from kms_connect.core.redact import setup_debug_log


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Set up, check and watch Hanzo KMS Azure DevOps App Connections from the keyboard.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="write a redacted debug log to the XDG state dir")
    instance = argparse.ArgumentParser(add_help=False)
    # Accepted before or after a subcommand; SUPPRESS keeps the subcommand's default from hiding the main one.
    instance.add_argument(
        "--instance",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="work on this Hanzo KMS instance instead of the local store",
    )
    parser.add_argument(
        "--instance", metavar="NAME", default="local", help="work on this Hanzo KMS instance instead of the local store"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "config",
        parents=[instance],
        help="print file locations and the effective settings (secrets redacted); with --instance, that instance's",
    )
    listing = sub.add_parser("list", parents=[instance], help="list connections and their last known status")
    listing.add_argument("--json", action="store_true", help="print a JSON document on stdout (format: README)")
    check = sub.add_parser(
        "check", parents=[instance], help="check connections live; exit 0 valid, 1 failed, 2 usage, 3 not checkable"
    )
    check.add_argument("names", nargs="*", metavar="NAME", help="connections to check (project/name when ambiguous)")
    check.add_argument("--project", metavar="P", help="only this project's connections")
    check.add_argument("--json", action="store_true", help="print a JSON document on stdout (format: README)")
    check.add_argument(
        "-q", "--quiet", action="store_true", help="no line per finished check on stderr (notices and errors still)"
    )
    check.add_argument(
        "--prove-write",
        action="store_true",
        help="also prove write access: create, update and delete a probe variable group in each target project",
    )
    check.add_argument(
        "--devops-project",
        action="append",
        default=[],
        metavar="NAME",
        help="with --prove-write: an Azure DevOps project to prove in, in place of the connection's targets (repeat)",
    )
    syncs = sub.add_parser(
        "syncs", parents=[instance], help="list an instance's Azure DevOps Secret Syncs and their status"
    )
    syncs.add_argument("--project", metavar="P", help="only this project's syncs")
    syncs.add_argument("--json", action="store_true", help="print a JSON document on stdout (format: README)")
    sync = sub.add_parser(
        "sync",
        parents=[instance],
        help="run an instance's Secret Sync now; exit 0 succeeded (or accepted), 1 failed, 2 usage, 3 not followed",
    )
    sync.add_argument("name", metavar="NAME", help="the sync's name (project/name when several projects have it)")
    sync.add_argument("--project", metavar="P", help="the sync's project")
    sync.add_argument("--wait", action="store_true", help="follow the job to its end (backing off 0.5 s to 5 s)")
    sync.add_argument(
        "--timeout", type=float, default=900.0, metavar="S", help="with --wait: stop following after S seconds (900)"
    )
    sync.add_argument("--json", action="store_true", help="print a JSON document on stdout (format: README)")
    sub.add_parser("demo", help="the whole app against simulated Azure and KMS services (nothing real is touched)")
    oauth = sub.add_parser(
        "oauth-secret",
        parents=[instance],
        help="keep the OAuth app's client secret in the secret store (a setting of this box: no --instance)",
    )
    oauth.add_argument("action", choices=["set", "clear"], help="set reads the secret from the terminal or stdin")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Each command imports what it runs when it is chosen (figures: benchmarks/imports.py): `list`,
    # `check` and `config` never load Textual (~210 ms of a cron job), and the TUI's first frame
    # waits for none of pydantic, the store, the live checks (httpx) or the simulators (~110 ms
    # and more).
    args = build_parser().parse_args(argv)
    paths = default_paths()
    if args.command == "demo":
        # The demo makes its own workspace and simulated instance: neither the config nor --instance applies.
        if args.instance != "local":
            print(
                "kms-connect: demo: --instance does not apply (the demo has its own simulated instance).",
                file=sys.stderr,
            )
            return 2
    else:
        missing = paths.config_missing()  # before Textual starts, so the TUI says it on a plain terminal
        if missing:
            print(f"kms-connect: {missing}", file=sys.stderr)
            return 2
    if args.debug:
        setup_debug_log(paths.debug_log)
        logging.getLogger("kms_connect").debug(
            "kms-connect %s starting; config %s, data %s", __version__, paths.config_file, paths.data_dir
        )
    if args.command == "config":
        from kms_connect.commands import print_config  # noqa: PLC0415

        return print_config(paths, args.instance)
    if args.command == "list":
        from kms_connect.headless import run_list  # noqa: PLC0415

        return run_list(paths, args.instance, args.json)
    if args.command == "check":
        from kms_connect.headless import ProveWrite, run_check  # noqa: PLC0415

        if args.devops_project and not args.prove_write:
            print("kms-connect: check: --devops-project goes with --prove-write.", file=sys.stderr)
            return 2
        prove = ProveWrite(args.devops_project) if args.prove_write else None
        return run_check(paths, args.instance, args.names, args.project, args.json, quiet=args.quiet, prove=prove)
    if args.command == "syncs":
        from kms_connect.headless_syncs import run_syncs  # noqa: PLC0415

        return run_syncs(paths, args.instance, args.project, args.json)
    if args.command == "sync":
        from kms_connect.headless_syncs import run_sync  # noqa: PLC0415

        if args.timeout <= 0:
            print("kms-connect: sync: --timeout must be more than 0 seconds.", file=sys.stderr)
            return 2
        return run_sync(paths, args.instance, args.name, args.project, args.json, wait=args.wait, timeout=args.timeout)
    if args.command == "demo":
        from kms_connect.demo import run_demo  # noqa: PLC0415

        return run_demo()
    if args.command == "oauth-secret":
        from kms_connect.commands import oauth_secret  # noqa: PLC0415

        return oauth_secret(paths, args.action, args.instance)

    from kms_connect.ui.app import KmsConnectApp  # noqa: PLC0415

    app = KmsConnectApp(paths=paths, source=args.instance)
    app.run()
    # App.run() returns normally even after a crash: pass its return code on.
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())

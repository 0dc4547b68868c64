"""Run the simulators on their own: `python -m kms_connect_sim [--latency MS] [--projects N] [DIR]`.

Prints one JSON line (URLs, the CA bundle, an `[azure]` config table and the sample's simulated
credentials), then serves until stdin closes or the process is stopped. Benchmarks run them in
their own process so the simulators' CPU does not compete with the app's; the same line lets an
operator point kms-connect at them by hand (`--auto-approve` approves device codes by itself).

`--kms` also runs a Hanzo KMS instance (plain HTTP) with the sample's two Secret Syncs (their jobs
run when a test says so: they stay as created), at the same latency. `--projects N` adds an
organization of its own, BENCH_ORG, with N projects (bench-01…), for benchmarks that need more
projects than the sample's two (benchmarks/write_proof.py); the sample itself is left as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

from kms_connect_sim.kms import KmsSimulator
from kms_connect_sim.kms_sync_sample import add_sample_syncs
from kms_connect_sim.kms_world import sample_kms_world
from kms_connect_sim.sandbox import Sample, Sandbox
from kms_connect_sim.world import Organization, World

BENCH_ORG = "contoso-bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kms_connect_sim")
    parser.add_argument("directory", nargs="?", type=Path, help="where the throwaway CA goes (default: a temp dir)")
    parser.add_argument("--latency", type=float, default=0.0, help="ms added to every answer")
    parser.add_argument("--auto-approve", action="store_true", help="device codes approve themselves")
    parser.add_argument("--kms", action="store_true", help="also run a Hanzo KMS instance (plain HTTP, loopback)")
    parser.add_argument(
        "--projects", type=int, default=0, metavar="N", help=f"also an organization {BENCH_ORG} with N projects"
    )
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        box = Sandbox(args.directory or Path(tmp))
        assert box.sample is not None
        if args.projects > 0:  # before the servers start: their threads read the world under its lock
            bench_org(box.world, box.sample, args.projects)
        stack.enter_context(box)
        return _serve(box, args, stack)


def bench_org(world: World, sample: Sample, projects: int) -> Organization:
    """BENCH_ORG: `projects` projects named bench-01…, in the sample's tenant, with alice and the
    sample's service principal as members (Creator in every Library: the default), two groups made
    by someone else in each, as in the sample's organization."""
    names = [f"bench-{i:02d}" for i in range(1, projects + 1)]
    return world.add_org(
        BENCH_ORG, sample.tenant, projects=names, members={sample.alice.oid, sample.sp_app.sp_object_id}
    )


def _serve(box: Sandbox, args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    box.latency = args.latency / 1000
    sample = box.sample
    assert sample is not None
    if args.auto_approve:
        box.world.auto_approve_after = 2
    info: dict[str, object] = {
        "authority_host": box.authority_host,
        "devops_url": box.devops_url,
        "release_url": box.release_url,
        "ca_bundle": str(box.ca_bundle),
        "config_toml": box.config_toml(),
        "org": sample.org.name,
        "tenant_id": sample.tenant.id,
        "tenant_domain": sample.tenant.domains[0],
        "oauth_client_id": sample.oauth_app.client_id,
        "sp_client_id": sample.sp_app.client_id,
        "sp_secret": sample.sp_secret,
        "pat_ok": sample.pat_ok.token,
        "pat_expired": sample.pat_expired.token,
        "pat_no_release": sample.pat_no_release.token,
        # issue 18's write proof: passes; creates but may not update or delete; refused by Library role
        "pat_vg_manage": sample.pat_vg_manage.token,
        "pat_vg_write": sample.pat_vg_write.token,
        "sp_library_reader_client_id": sample.sp_library_reader.client_id,
        "sp_library_reader_secret": sample.sp_library_reader_secret,
    }
    if args.projects > 0:
        bench = box.world.orgs[BENCH_ORG]
        info.update(bench_org=bench.name, bench_projects=list(bench.projects))
    if args.kms:
        kms_world, identity = sample_kms_world(
            oauth_client_id=sample.oauth_web_app.client_id, oauth_client_secret=sample.web_secret
        )
        syncs = add_sample_syncs(kms_world, sample)  # one healthy, one refused a Library role (never run)
        kms = stack.enter_context(
            KmsSimulator(
                kms_world, box.world, entra_url=box.entra.url, devops_url=box.devops_url, ca_bundle=box.ca_bundle
            )
        )
        kms.latency = box.latency
        info.update(
            kms_url=kms.url,
            kms_site_url=kms_world.site_url,
            kms_client_id=identity.client_id,
            kms_client_secret=identity.client_secret,
            kms_sync_connection=syncs.healthy_connection.id,
        )
    print(json.dumps(info), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # serve until the parent closes our stdin
    return 0


if __name__ == "__main__":
    sys.exit(main())

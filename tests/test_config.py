from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kms_connect.core.config import load_settings
from kms_connect.core.errors import ConfigError

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def pythonpath() -> dict[str, str]:
    """The caller's PYTHONPATH, so the process runs the code under test (not another installed copy)."""
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "nope.toml")
    assert s.azure.devops_url == "https://dev.azure.com"
    assert s.azure.release_url == "https://vsrm.dev.azure.com"
    assert s.azure.authority_host == "https://login.microsoftonline.com"
    assert s.oauth.redirect_uri == "http://localhost"
    assert s.secrets.backend == "auto"


def test_values_read(tmp_path: Path) -> None:
    bundle = write(tmp_path / "ca.pem", "x")
    cfg = write(
        tmp_path / "c.toml",
        f'[azure]\ndevops_url = "https://ado.example.com/"\nca_bundle = "{bundle}"\n'
        f'[oauth]\nclient_id = "{GUID}"\n[secrets]\nbackend = "file"\n',
    )
    s = load_settings(cfg)
    assert s.azure.devops_url == "https://ado.example.com"
    assert s.azure.ca_bundle == bundle
    assert s.oauth_client_id() == (GUID, "config [oauth] client_id")
    assert s.secrets.backend == "file"


def test_env_client_id_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_ID", GUID)
    assert load_settings(tmp_path / "x.toml").oauth_client_id()[1].startswith("env ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[secrets]\nbackend = "vault"\n', "[secrets] backend"),
        ('[azure]\ndevops_url = "ftp://x"\n', "[azure] devops_url: must be an http(s) URL"),
        ('[azure]\nca_bundle = "/no/such.pem"\n', "[azure] ca_bundle: no such file"),
        ('[oauth]\nclient_id = "abc"\n', "[oauth] client_id"),
        ('[azure]\ndevops_ur = "https://x"\n', "[azure] devops_ur: unknown key"),
        ("[azure\n", "is not valid TOML"),
    ],
)
def test_bad_values_name_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    cfg = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert str(cfg) in str(err.value)
    assert expected in str(err.value)


def test_config_command_prints_locations_and_redacts_proxy(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[oauth]\nredirect_uri = "http://localhost:8400"\n')
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "KMS_CONNECT_CONFIG": str(cfg),
        "HTTPS_PROXY": "http://user:hunter2pass@proxy.local:3128",
        "NO_PROXY": "localhost",
        "INF_APP_CONNECTION_AZURE_DEVOPS_CLIENT_SECRET": "s3cr3t-oauth-value",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **pythonpath(),
    }
    out = subprocess.run([sys.executable, "-m", "kms_connect", "config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert str(cfg) in out.stdout
    assert str(tmp_path / "data" / "kms-connect" / "store.toml") in out.stdout
    assert "redirect_uri = http://localhost:8400" in out.stdout
    assert "HTTPS_PROXY=http://user:•••@proxy.local:3128" in out.stdout
    assert "hunter2pass" not in out.stdout and "s3cr3t-oauth-value" not in out.stdout
    assert "client_secret  set (env)" in out.stdout
    assert "unusable" in out.stdout  # the fail keyring is reported, not hidden


def test_config_command_bad_file_exit_2(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[secrets]\nbackend = "nope"\n')
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KMS_CONNECT_CONFIG": str(cfg), **pythonpath()}
    out = subprocess.run([sys.executable, "-m", "kms_connect", "config"], env=env, capture_output=True, text=True)
    assert out.returncode == 2
    assert str(cfg) in out.stderr and "[secrets] backend" in out.stderr
    assert "Traceback" not in out.stderr


def test_status_concurrency_is_bounded(tmp_path) -> None:
    from kms_connect.core.config import load_settings
    from kms_connect.core.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text("[status]\nconcurrency = 16\n")
    assert load_settings(path).status.concurrency == 16
    path.write_text("[status]\nconcurrency = 0\n")
    with pytest.raises(ConfigError, match=r"\[status\] concurrency: must be between 1 and 64"):
        load_settings(path)


def test_status_interval_is_off_by_default_and_sensible(tmp_path) -> None:
    from kms_connect.core.config import load_settings
    from kms_connect.core.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text("")
    assert load_settings(path).status.interval == 0
    path.write_text("[status]\ninterval = 900\n")
    assert load_settings(path).status.interval == 900
    path.write_text("[status]\ninterval = 5\n")
    with pytest.raises(ConfigError, match=r"\[status\] interval: must be 0 \(off\) or between 30 seconds"):
        load_settings(path)


@pytest.mark.parametrize("bad", ["0", "4.9", "601", '"soon"'])
def test_status_check_timeout_defaults_to_a_minute_and_is_bounded(tmp_path, bad: str) -> None:
    from kms_connect.core.config import load_settings
    from kms_connect.core.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text("")
    assert load_settings(path).status.check_timeout == 60
    for good in ("5", "90", "600", "12.5"):
        path.write_text(f"[status]\ncheck_timeout = {good}\n")
        assert load_settings(path).status.check_timeout == float(good)
    path.write_text(f"[status]\ncheck_timeout = {bad}\n")
    with pytest.raises(ConfigError, match=r"\[status\] check_timeout: ") as info:
        load_settings(path)
    if bad != '"soon"':
        assert "must be between 5 and 600 seconds (default 60)" in str(info.value)


def test_instances_declared_in_the_config_are_read_and_never_rewritten(tmp_path) -> None:
    from kms_connect.core.config import load_settings
    from kms_connect.core.errors import ConfigError, ConflictError
    from kms_connect.core.instances import Instance, InstanceStore, configured_instances

    path = tmp_path / "config.toml"
    text = (
        '[[instances]]\nname = "staging"\nurl = "https://kms.staging.example"\n'
        'client_id = "11111111-2222-3333-4444-555555555555"\n'
    )
    path.write_text(text)
    settings = load_settings(path)
    store = InstanceStore(
        tmp_path / "instances.toml", tmp_path / "i.lock", configured_instances(settings.instances, path)
    )
    store.save(Instance(name="prod", url="http://localhost:8080"))
    assert [(i.name, i.source) for i in store.list()] == [("prod", "store"), ("staging", "config")]
    with pytest.raises(ConflictError, match="config file"):
        store.remove("staging")
    assert path.read_text() == text  # never rewritten
    assert "staging" not in (tmp_path / "instances.toml").read_text()
    path.write_text('[[instances]]\nname = "bad"\nurl = "ftp://x"\n')
    with pytest.raises(ConfigError, match=r"\[\[instances\]\] #1 url: must be an http\(s\) URL"):
        load_settings(path)


def test_a_damaged_instances_file_is_reported_and_left_alone(tmp_path) -> None:
    from kms_connect.core.errors import StoreError
    from kms_connect.core.instances import Instance, InstanceStore

    file = tmp_path / "instances.toml"
    file.write_bytes(b"version = 1\ninstances = [ broken")
    store = InstanceStore(file, tmp_path / "i.lock")
    with pytest.raises(StoreError, match="damaged"):
        store.save(Instance(name="prod", url="http://localhost:8080"))
    assert file.read_bytes() == b"version = 1\ninstances = [ broken"


def test_instance_option_before_or_after_a_subcommand() -> None:
    from kms_connect.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["--instance", "prod", "config"]).instance == "prod"
    assert parser.parse_args(["config", "--instance", "prod"]).instance == "prod"
    assert parser.parse_args([]).instance == "local"

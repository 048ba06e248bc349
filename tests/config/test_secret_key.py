"""One secret key per installation: every process of a development or demo install reads the
same key from the data folder, made once, owner-only; production still requires SECRET_KEY.

The settings are loaded in fresh processes (as gunicorn's workers and Celery load them), each
in an environment with no SECRET_KEY and a data folder of its own.
"""

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from config.secret_key import SecretKeyFileError, installation_secret_key
from tests.processes import ROOT, embedded_env

PRINT_KEY = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
)


def _key_in_a_new_process(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PRINT_KEY],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("mode", [{"DEBUG": "1"}, {"QUORUM_DEMO": "1"}], ids=["debug", "demo"])
def test_processes_started_at_once_without_secret_key_share_one_key_kept_owner_only(tmp_path, mode):
    env = embedded_env(tmp_path, **mode)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda _: _key_in_a_new_process(env), range(4)))
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    keys = {run.stdout.strip() for run in runs}
    assert len(keys) == 1, "each process drew a key of its own"
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == keys.pop()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A restart keeps the key, so sessions and signed links outlive it.
    assert _key_in_a_new_process(env).stdout.strip() == key_file.read_text().strip()
    assert [path.name for path in tmp_path.glob(".secret_key*")] == []


def test_production_without_secret_key_refuses_to_start_and_writes_no_key(tmp_path):
    run = _key_in_a_new_process(embedded_env(tmp_path))
    assert run.returncode != 0
    assert "SECRET_KEY is required" in run.stderr
    assert not (tmp_path / "secret_key").exists()


def test_secret_key_from_the_environment_wins_over_the_key_file(tmp_path):
    installation_secret_key(tmp_path)
    run = _key_in_a_new_process(embedded_env(tmp_path, DEBUG="1", SECRET_KEY="k" * 50))
    assert run.stdout.strip() == "k" * 50


def test_many_threads_creating_the_key_at_once_all_read_the_same_complete_key(tmp_path):
    with ThreadPoolExecutor(max_workers=16) as pool:
        keys = set(pool.map(lambda _: installation_secret_key(tmp_path), range(64)))
    assert len(keys) == 1
    assert len(keys.pop()) >= 50


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    installation_secret_key(tmp_path)
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(SecretKeyFileError, match="chmod 600"):
        installation_secret_key(tmp_path)


def test_an_empty_key_file_is_refused_not_used(tmp_path):
    (tmp_path / "secret_key").write_text("")
    os.chmod(tmp_path / "secret_key", 0o600)
    with pytest.raises(SecretKeyFileError, match="no usable key"):
        installation_secret_key(tmp_path)

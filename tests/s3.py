"""A live S3-protocol server for the storage tests: moto's standalone server as a subprocess.

``python -m moto.server`` runs on a loopback port of its own, so boto3 talks real HTTP to it
(no in-process patching). The fixtures point Quorum at it the way an operator would: with
``AWS_ENDPOINT_URL_S3`` and credentials in the environment, and ``QUORUM_STORAGE=s3``. Tests
skip with the reason when moto is not installed.
"""

import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port

MOTO_MISSING = importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None
SKIP_REASON = "moto[server] is not installed (pip install -e '.[dev]'): no S3 server to test with"

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "quorum-test",
    "AWS_SECRET_ACCESS_KEY": "quorum-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1:<port>; can be stopped and started again."""

    def __init__(self, port: int | None = None, log_dir: Path | None = None):
        self.port = port or free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        log = (
            open(self.log_dir / f"moto-{self.port}.log", "ab")  # noqa: SIM115 - the child keeps it
            if self.log_dir
            else subprocess.DEVNULL
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto.server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto.server did not answer on port {self.port} in {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_S3": self.endpoint, **CREDENTIALS}


def s3_client_for(endpoint: str):
    """A plain boto3 ``s3`` client, as a user's script makes it."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    """One moto server for the session's tests (each test gets buckets of its own)."""
    if MOTO_MISSING:
        pytest.skip(SKIP_REASON)
    server = MotoServer(log_dir=tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.stop()


class S3Fixture:
    def __init__(self, server: MotoServer):
        self.server = server
        self.client = s3_client_for(server.endpoint)
        self.bucket = f"quorum-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=self.bucket)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put(self, key: str, body: bytes | str, content_type: str = "") -> str:
        data = body.encode() if isinstance(body, str) else body
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return self.uri(key)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys.extend(entry["Key"] for entry in page.get("Contents", []))
        return sorted(keys)


@pytest.fixture
def s3(moto_server, settings, monkeypatch) -> S3Fixture:
    """Quorum configured for the live S3 server, and a fresh bucket in it."""
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.QUORUM_STORAGE = "s3"
    return S3Fixture(moto_server)

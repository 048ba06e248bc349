"""Benchmark of the control plane on the S3 data plane: CreateLabelingJob on a 1,000,000-line
manifest in S3 until InProgress, then DescribeLabelingJob and DescribeHumanLoop under 10 clients.

The stack is ``manage.py serve``'s (gunicorn gthread 2 × 8 and a Celery worker) on PostgreSQL +
Redis, with ``QUORUM_STORAGE=s3`` and ``AWS_ENDPOINT_URL_S3`` pointing at moto's standalone
server (a subprocess on loopback): the manifest is uploaded there with boto3 and Quorum reads it
back through boto3. Each measuring client is one thread with one keep-alive connection that signs
every request with botocore's SigV4 signer; its latency is the server's answer time. Its own
database (``quorum_bench_t15s3``) and Redis database (5) keep it apart from other benchmarks.

    .venv/bin/python bench/control_plane.py            # 1,000,000 lines, 20 s windows
    .venv/bin/python bench/control_plane.py --quick    # 20,000 lines, 5 s windows
"""

import argparse
import json
import random
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from typing import Any

import _probes

_probes.DB_NAME = "quorum_bench_t15s3"  # before _harness reads it

import _harness  # noqa: E402
import boto3  # noqa: E402
from _harness import (  # noqa: E402
    OUT,
    PYTHON,
    Client,
    Stack,
    WebConfig,
    command_line,
    create_team,
    expect,
    free_port,
    git_commit,
    manage,
    manifest_file,
    record,
)
from _probes import CORES, CpuMeter, machine, ms, percentile  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

_harness.REDIS_URL = "redis://127.0.0.1:6379/5"
REGION = "us-east-1"
BUCKET = "bench-input"
TARGET_IN_PROGRESS_SECONDS = 60
TARGET_P99_MS = 20
LOOPS = 200
MANAGED = "arn:aws:lambda:us-east-1:432418664414:function"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="each measured window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--paced-think", type=float, default=0.1, help="mean think time (s)")
    parser.add_argument("--web", default="gthread:2x8")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.lines, args.seconds, args.warmup = 20_000, 5.0, 1.0
    return args


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "MotoServer":
        (OUT / "logs").mkdir(parents=True, exist_ok=True)
        log = (OUT / "logs" / "moto.log").open("ab")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("moto.server did not start")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


class Signer:
    def __init__(self, port: int, key_id: str, secret: str):
        self.base = f"http://127.0.0.1:{port}"
        self.auth = SigV4Auth(Credentials(key_id, secret), "sagemaker", REGION)

    def headers(self, method: str, path: str, body: bytes, extra: dict[str, str]) -> dict:
        request = AWSRequest(method=method, url=self.base + path, data=body, headers=extra)
        self.auth.add_auth(request)
        return dict(request.headers.items())


def describe_labeling_job_call(signer: Signer, name: str):
    body = json.dumps({"LabelingJobName": name}).encode()
    extra = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "SageMaker.DescribeLabelingJob",
    }

    def make() -> tuple[str, str, bytes, dict]:
        return "POST", "/sagemaker/", body, signer.headers("POST", "/sagemaker/", body, extra)

    return make


def describe_human_loop_call(signer: Signer, names: list[str], rng: random.Random):
    def make() -> tuple[str, str, bytes, dict]:
        path = f"/a2i/human-loops/{rng.choice(names)}"
        return "GET", path, b"", signer.headers("GET", path, b"", {})

    return make


def measure(stack: Stack, port: int, make_calls, clients: int, seconds: float, warmup: float,
            think: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """``clients`` threads in a closed loop (or pausing ``think`` s on average) for a window."""
    samples: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    now = time.monotonic()
    measure_from, deadline = now + warmup, now + warmup + seconds

    def run(seed: int) -> None:
        client = Client(port)
        rng = random.Random(seed)
        make = make_calls(rng)
        own: list[float] = []
        failures: dict[str, int] = {}
        try:
            while time.monotonic() < deadline:
                if think:
                    time.sleep(rng.expovariate(1 / think))
                method, path, body, headers = make()
                started = time.monotonic()
                status, data, elapsed = client.request(method, path, body or None, headers)
                if status != 200:
                    key = f"{status} {data[:80]!r}"
                    failures[key] = failures.get(key, 0) + 1
                elif started >= measure_from:
                    own.append(elapsed)
        finally:
            client.close()
            with lock:
                samples.extend(own)
                for key, count in failures.items():
                    errors[key] = errors.get(key, 0) + count

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    meter = CpuMeter(stack)
    time.sleep(max(0.0, measure_from - time.monotonic()))
    meter.start()
    time.sleep(max(0.0, deadline - time.monotonic()))
    cpu = meter.stop()
    for thread in threads:
        thread.join()
    return {
        "clients": clients,
        "think_mean_ms": round(think * 1000),
        "calls": len(samples),
        "calls_per_second": round(len(samples) / seconds, 1),
        "cpu_share": cpu,
        "server_cpu_ms_per_call": round(
            (cpu.get("gunicorn", 0) + cpu.get("postgres", 0))
            * CORES
            * seconds
            * 1000
            / len(samples),
            2,
        )
        if samples
        else None,
        "p50_ms": ms(percentile(samples, 0.50)),
        "p95_ms": ms(percentile(samples, 0.95)),
        "p99_ms": ms(percentile(samples, 0.99)),
        "max_ms": ms(max(samples) if samples else None),
        "errors": errors,
    }


def upload_inputs(s3, lines: int) -> dict[str, Any]:
    s3.create_bucket(Bucket=BUCKET)
    path = manifest_file(lines)
    started = time.monotonic()
    s3.upload_file(str(path), BUCKET, f"in/items-{lines}.jsonl")
    categories = {
        "document-version": "2018-11-28",
        "labels": [{"label": name} for name in _harness.LABELS],
    }
    s3.put_object(Bucket=BUCKET, Key="in/categories.json", Body=json.dumps(categories).encode())
    template = (
        '<crowd-form><crowd-classifier name="sentiment" categories="{{ task.input.labels | '
        'to_json | escape }}" header="Sentiment?"><classification-target>{{ task.input.taskObject'
        " }}</classification-target></crowd-classifier></crowd-form>"
    )
    s3.put_object(Bucket=BUCKET, Key="in/template.liquid", Body=template.encode())
    return {"bytes": path.stat().st_size, "upload_seconds": round(time.monotonic() - started, 2)}


def create_and_wait(sagemaker, team: str, lines: int) -> dict[str, Any]:
    name = f"bench-{lines}"
    request = {
        "LabelingJobName": name,
        "LabelAttributeName": "sentiment",
        "InputConfig": {
            "DataSource": {
                "S3DataSource": {"ManifestS3Uri": f"s3://{BUCKET}/in/items-{lines}.jsonl"}
            }
        },
        "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/Labeling",
        "LabelCategoryConfigS3Uri": f"s3://{BUCKET}/in/categories.json",
        "HumanTaskConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:123456789012:workteam/private-crowd/{team}",
            "UiConfig": {"UiTemplateS3Uri": f"s3://{BUCKET}/in/template.liquid"},
            "PreHumanTaskLambdaArn": f"{MANAGED}:PRE-TextMultiClass",
            "TaskTitle": "Sentiment",
            "TaskDescription": "Pick the sentiment",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{MANAGED}:ACS-TextMultiClass"
            },
        },
    }
    started = time.monotonic()
    sagemaker.create_labeling_job(**request)
    created = time.monotonic() - started
    statuses = []
    while True:
        described = sagemaker.describe_labeling_job(LabelingJobName=name)
        status = described["LabelingJobStatus"]
        if not statuses or statuses[-1][0] != status:
            statuses.append((status, round(time.monotonic() - started, 2)))
        if status != "Initializing" or time.monotonic() - started > 900:
            break
        time.sleep(0.25)
    return {
        "name": name,
        "create_call_seconds": round(created, 3),
        "seconds_to_in_progress": round(time.monotonic() - started, 2),
        "status": status,
        "failure": described.get("FailureReason"),
        "statuses": statuses,
        "unlabeled": described["LabelCounters"]["Unlabeled"],
    }


def start_loops(port: int, signer: Signer, arn: str, count: int) -> list[str]:
    client = Client(port)
    names = []
    try:
        for _ in range(count):
            name = "b-" + uuid.uuid4().hex[:24]
            body = json.dumps(
                {
                    "HumanLoopName": name,
                    "FlowDefinitionArn": arn,
                    "HumanLoopInput": {"InputContent": json.dumps({"source": f"text {name}"})},
                }
            ).encode()
            headers = signer.headers(
                "POST", "/a2i/human-loops", body, {"Content-Type": "application/json"}
            )
            status, data, _ = client.request("POST", "/a2i/human-loops", body, headers)
            expect(status, data, 200)
            names.append(name)
    finally:
        client.close()
    return names


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    with MotoServer() as moto:
        stack = Stack(WebConfig.parse(args.web))
        stack.env.update(
            QUORUM_STORAGE="s3",
            AWS_ENDPOINT_URL_S3=moto.endpoint,
            AWS_DEFAULT_REGION=REGION,
            QUORUM_S3_ADDRESSING_STYLE="path",
            **S3_CREDENTIALS,
        )
        with stack:
            token = stack.create_manager("bench-pm")
            manager = Client(stack.port, token)
            create_team(manager, "bench-team")
            key_id, secret = manage("create_access_key", "bench-pm", env=stack.env).split()[-2:]
            s3 = boto3.client(
                "s3", endpoint_url=moto.endpoint, region_name=REGION,
                aws_access_key_id="bench", aws_secret_access_key="bench-secret",
            )  # fmt: skip
            uploaded = upload_inputs(s3, args.lines)
            sagemaker = boto3.client(
                "sagemaker",
                endpoint_url=f"http://127.0.0.1:{stack.port}/sagemaker",
                region_name=REGION,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                config=Config(retries={"max_attempts": 1, "mode": "standard"}),
            )
            create = create_and_wait(sagemaker, "bench-team", args.lines)
            signer = Signer(stack.port, key_id, secret)
            describe_job = [
                measure(
                    stack,
                    stack.port,
                    lambda rng: describe_labeling_job_call(signer, create["name"]),
                    args.clients,
                    args.seconds,
                    args.warmup,
                    think,
                )
                for think in (0.0, args.paced_think)
            ]
            team_id = create_team(manager, "bench-reviewers")
            status, flow, _ = manager.call(
                "POST",
                "/api/v1/flows",
                {
                    "name": "bench-describe",
                    "team": team_id,
                    "task_type": "text-classification",
                    "labels": _harness.LABELS,
                },
            )
            flow = expect(status, flow, 201)
            names = start_loops(stack.port, signer, flow["arn"], LOOPS)
            describe_loop = [
                measure(
                    stack,
                    stack.port,
                    lambda rng: describe_human_loop_call(signer, names, rng),
                    args.clients,
                    args.seconds,
                    args.warmup,
                    think,
                )
                for think in (0.0, args.paced_think)
            ]
            manager.close()
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "web": args.web,
        "store": "moto.server (python -m moto.server) on loopback, boto3 both ways",
        "client": "threads, keep-alive http.client, botocore SigV4Auth per request",
        "manifest": {"lines": args.lines, **uploaded},
        "create_labeling_job": create,
        "describe_labeling_job": describe_job,
        "describe_human_loop": describe_loop,
        "target_in_progress_seconds": TARGET_IN_PROGRESS_SECONDS,
        "target_p99_ms": TARGET_P99_MS,
        "target_in_progress_met": create["status"] == "InProgress"
        and create["seconds_to_in_progress"] < TARGET_IN_PROGRESS_SECONDS,
    }

    def level(s: dict[str, Any]) -> str:
        mode = "closed loop" if not s["think_mean_ms"] else f"paced {s['think_mean_ms']} ms"
        return (
            f"K={s['clients']} {mode}: {s['calls_per_second']}/s p50 {s['p50_ms']} ms "
            f"p99 {s['p99_ms']} ms (server CPU {s['server_cpu_ms_per_call']} ms/call, other load "
            f"{s['cpu_share'].get('other', 0):.0%})"
        )

    summary = (
        f"CreateLabelingJob on {args.lines:,} lines in S3 ({uploaded['bytes'] / 2**20:.0f} MiB): "
        f"{create['status']} after {create['seconds_to_in_progress']} s "
        f"(call {create['create_call_seconds']} s); DescribeLabelingJob "
        + "; ".join(level(s) for s in describe_job)
        + "; DescribeHumanLoop "
        + "; ".join(level(s) for s in describe_loop)
    )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main(sys.argv[1:])

"""A batch of human review loops, written the way scripts for the managed runtime are.

Nothing here knows Quorum: boto3 finds the endpoints in AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME and AWS_ENDPOINT_URL_S3. Usage:
    python review_batch.py <bucket> <flow definition name> <work team name>
It starts three loops, lists them with the paginator and a time filter, stops and deletes one,
catches the errors scripts catch, waits for the other two, reads their outputs from S3, cleans
up, and prints one JSON line of what it saw.
"""

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3

BUCKET, FLOW_NAME, WORKTEAM_NAME = sys.argv[1:4]

session = boto3.session.Session()
sagemaker = session.client("sagemaker")
a2i = session.client("sagemaker-a2i-runtime")
s3 = session.client("s3")
seen: dict = {"errors": {}}
started_after = datetime.now(UTC) - timedelta(seconds=2)

template = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="verdict" categories="['Safe', 'Offensive']" header="Is it safe?">
    <classification-target>{{ task.input.taskObject }}</classification-target>
  </crowd-classifier>
</crowd-form>"""
ui_arn = sagemaker.create_human_task_ui(
    HumanTaskUiName=f"ui-{uuid.uuid4().hex[:8]}", UiTemplate={"Content": template}
)["HumanTaskUiArn"]
workteam_arn = sagemaker.describe_workteam(WorkteamName=WORKTEAM_NAME)["Workteam"]["WorkteamArn"]
flow_arn = sagemaker.create_flow_definition(
    FlowDefinitionName=FLOW_NAME,
    RoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
    HumanLoopConfig={
        "WorkteamArn": workteam_arn,
        "HumanTaskUiArn": ui_arn,
        "TaskCount": 1,
        "TaskDescription": "Decide whether the comment is safe",
        "TaskTitle": "Comment moderation",
        "TaskTimeLimitInSeconds": 600,
    },
    OutputConfig={"S3OutputPath": f"s3://{BUCKET}/a2i-batch/"},
)["FlowDefinitionArn"]
while (
    sagemaker.describe_flow_definition(FlowDefinitionName=FLOW_NAME)["FlowDefinitionStatus"]
    != "Active"
):
    time.sleep(0.5)

comments = {"batch-0": "You are all great", "batch-1": "Nice work", "batch-2": "Meh"}
for name, text in comments.items():
    a2i.start_human_loop(
        HumanLoopName=name,
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"taskObject": text})},
        DataAttributes={
            "ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"]
        },
    )
try:
    a2i.start_human_loop(
        HumanLoopName="batch-0",
        FlowDefinitionArn=flow_arn,
        HumanLoopInput={"InputContent": json.dumps({"taskObject": "again"})},
    )
except a2i.exceptions.ConflictException as exc:
    seen["errors"]["start again"] = exc.response["Error"]["Code"]

paginator = a2i.get_paginator("list_human_loops")
seen["listed"] = [
    summary["HumanLoopName"]
    for page in paginator.paginate(
        FlowDefinitionArn=flow_arn,
        CreationTimeAfter=started_after,
        SortOrder="Ascending",
        PaginationConfig={"PageSize": 2},
    )
    for summary in page["HumanLoopSummaries"]
]
seen["listed_before_start"] = a2i.list_human_loops(
    FlowDefinitionArn=flow_arn, CreationTimeBefore=started_after
)["HumanLoopSummaries"]

try:
    a2i.delete_human_loop(HumanLoopName="batch-0")
except a2i.exceptions.ValidationException as exc:
    seen["errors"]["delete in progress"] = exc.response["Error"]["Code"]

# Withdraw one: stop it, wait for Stopped, delete it.
a2i.stop_human_loop(HumanLoopName="batch-2")
while a2i.describe_human_loop(HumanLoopName="batch-2")["HumanLoopStatus"] != "Stopped":
    time.sleep(0.5)
a2i.delete_human_loop(HumanLoopName="batch-2")
try:
    a2i.describe_human_loop(HumanLoopName="batch-2")
except a2i.exceptions.ResourceNotFoundException as exc:
    seen["errors"]["describe deleted"] = exc.response["Error"]["Code"]

# Wait for the reviewers, then read each output from S3.
deadline = time.time() + 120
pending = ["batch-0", "batch-1"]
outputs = {}
while pending and time.time() < deadline:
    for name in list(pending):
        loop = a2i.describe_human_loop(HumanLoopName=name)
        if loop["HumanLoopStatus"] == "Completed":
            bucket, key = loop["HumanLoopOutput"]["OutputS3Uri"][len("s3://") :].split("/", 1)
            outputs[name] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            seen.setdefault("output_keys", []).append(key)
            pending.remove(name)
    time.sleep(0.5)
seen["outputs"] = {
    name: {
        "input": output["inputContent"]["taskObject"],
        "answer": output["humanAnswers"][0]["answerContent"],
    }
    for name, output in outputs.items()
}
seen["statuses"] = sorted(
    (summary["HumanLoopName"], summary["HumanLoopStatus"])
    for page in paginator.paginate(FlowDefinitionArn=flow_arn)
    for summary in page["HumanLoopSummaries"]
)

# Clean up, as a batch job does.
for name in outputs:
    a2i.delete_human_loop(HumanLoopName=name)
sagemaker.delete_flow_definition(FlowDefinitionName=FLOW_NAME)
try:
    sagemaker.describe_flow_definition(FlowDefinitionName=FLOW_NAME)
except sagemaker.exceptions.ResourceNotFound as exc:
    seen["errors"]["describe deleted flow"] = exc.response["Error"]["Code"]
print(json.dumps(seen))

"""A human review loop of a custom task, written as the managed service's published examples do.

Nothing here knows Quorum: boto3 finds the endpoints in AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME and AWS_ENDPOINT_URL_S3. Usage:
    python review_loop.py <bucket> <flow definition name> <work team name>
It prints one JSON line: the flow's and the loop's status, the portal's address and the output.
"""

import json
import sys
import time
import uuid

import boto3

BUCKET, FLOW_NAME, WORKTEAM_NAME = sys.argv[1:4]
OUTPUT_PATH = f"s3://{BUCKET}/a2i-results"

session = boto3.session.Session()
sagemaker = session.client("sagemaker")
a2i = session.client("sagemaker-a2i-runtime")
s3 = session.client("s3")

template = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="verdict" categories="['Safe', 'Offensive']" header="Is it safe?">
    <classification-target>{{ task.input.taskObject }}</classification-target>
    <full-instructions header="Moderation">Read the comment.</full-instructions>
    <short-instructions>Read the comment.</short-instructions>
  </crowd-classifier>
</crowd-form>"""

# 1. The worker task template.
ui_name = f"ui-{uuid.uuid4().hex[:8]}"
human_task_ui_arn = sagemaker.create_human_task_ui(
    HumanTaskUiName=ui_name, UiTemplate={"Content": template}
)["HumanTaskUiArn"]

# 2. The flow definition.
workteam = sagemaker.describe_workteam(WorkteamName=WORKTEAM_NAME)["Workteam"]
flow_definition_arn = sagemaker.create_flow_definition(
    FlowDefinitionName=FLOW_NAME,
    RoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
    HumanLoopConfig={
        "WorkteamArn": workteam["WorkteamArn"],
        "HumanTaskUiArn": human_task_ui_arn,
        "TaskCount": 1,
        "TaskDescription": "Decide whether the comment is safe",
        "TaskTitle": "Comment moderation",
    },
    OutputConfig={"S3OutputPath": OUTPUT_PATH},
)["FlowDefinitionArn"]
deadline = time.time() + 60
while time.time() < deadline:
    flow_status = sagemaker.describe_flow_definition(FlowDefinitionName=FLOW_NAME)[
        "FlowDefinitionStatus"
    ]
    if flow_status == "Active":
        break
    time.sleep(0.5)

# 3. Where the workers sign in.
subdomain = workteam["SubDomain"]

# 4. A loop, answered by a reviewer in the portal.
a2i.start_human_loop(
    HumanLoopName="loop-1",
    FlowDefinitionArn=flow_definition_arn,
    HumanLoopInput={"InputContent": json.dumps({"taskObject": "You are all great", "score": 0.31})},
)
deadline = time.time() + 120
while time.time() < deadline:
    loop = a2i.describe_human_loop(HumanLoopName="loop-1")
    if loop["HumanLoopStatus"] in ("Completed", "Failed", "Stopped"):
        break
    time.sleep(0.5)

# 5. The reviewed answer, from S3.
output = None
output_uri = loop.get("HumanLoopOutput", {}).get("OutputS3Uri", "")
if loop["HumanLoopStatus"] == "Completed":
    bucket, key = output_uri[len("s3://") :].split("/", 1)
    output = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
print(
    json.dumps(
        {
            "flow_status": flow_status,
            "subdomain": subdomain,
            "loop_status": loop["HumanLoopStatus"],
            "output_uri": output_uri,
            "output": output,
        }
    )
)

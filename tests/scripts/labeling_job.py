"""An image classification labeling job, written as the managed service's published examples do.

Nothing here knows Quorum: boto3 finds the endpoints in AWS_ENDPOINT_URL_SAGEMAKER and
AWS_ENDPOINT_URL_S3, and the credentials in the usual chain. Usage:
    python labeling_job.py <bucket> <job name> <work team name>
It prints one JSON line: the final status, the label counters and the output manifest's lines.
"""

import io
import json
import sys
import time

import boto3
from PIL import Image

BUCKET, JOB_NAME, WORKTEAM_NAME = sys.argv[1:4]
PREFIX = "ground-truth-demo"
CLASSES = ["cat", "dog"]

session = boto3.session.Session()
region = session.region_name
s3 = session.client("s3")
sagemaker = session.client("sagemaker")

# 1. Upload the images, the input manifest, the label categories and the worker task template.
manifest_lines = []
for index, colour in enumerate(["red", "green", "blue"]):
    image = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(image, format="PNG")
    key = f"{PREFIX}/images/{index}.png"
    s3.put_object(Bucket=BUCKET, Key=key, Body=image.getvalue(), ContentType="image/png")
    manifest_lines.append(json.dumps({"source-ref": f"s3://{BUCKET}/{key}"}))
s3.put_object(
    Bucket=BUCKET, Key=f"{PREFIX}/input.manifest", Body="\n".join(manifest_lines).encode()
)
class_labels = {
    "document-version": "2018-11-28",
    "labels": [{"label": name} for name in CLASSES],
}
s3.put_object(
    Bucket=BUCKET, Key=f"{PREFIX}/class_labels.json", Body=json.dumps(class_labels).encode()
)
template = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-image-classifier name="category" src="{{ task.input.taskObject | grant_read_access }}"
    header="What is in the picture?" categories="{{ task.input.labels | to_json | escape }}">
    <full-instructions header="Instructions">Pick the animal.</full-instructions>
    <short-instructions>Pick the animal.</short-instructions>
  </crowd-image-classifier>
</crowd-form>"""
s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/instructions.template", Body=template.encode())

# 2. The labeling job, with the managed functions of this region's account.
workteam_arn = sagemaker.describe_workteam(WorkteamName=WORKTEAM_NAME)["Workteam"]["WorkteamArn"]
account = "432418664414"  # the account of the managed PRE-/ACS- functions in us-east-1
ground_truth_request = {
    "InputConfig": {
        "DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{BUCKET}/{PREFIX}/input.manifest"}},
        "DataAttributes": {
            "ContentClassifiers": [
                "FreeOfPersonallyIdentifiableInformation",
                "FreeOfAdultContent",
            ]
        },
    },
    "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/{PREFIX}/output/"},
    "HumanTaskConfig": {
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": (
                f"arn:aws:lambda:{region}:{account}:function:ACS-ImageMultiClass"
            )
        },
        "PreHumanTaskLambdaArn": f"arn:aws:lambda:{region}:{account}:function:PRE-ImageMultiClass",
        "MaxConcurrentTaskCount": 200,
        "NumberOfHumanWorkersPerDataObject": 1,
        "TaskAvailabilityLifetimeInSeconds": 21600,
        "TaskDescription": "Pick the animal in the picture",
        "TaskKeywords": ["image", "classification", "animals"],
        "TaskTimeLimitInSeconds": 300,
        "TaskTitle": "Cats and dogs",
        "UiConfig": {"UiTemplateS3Uri": f"s3://{BUCKET}/{PREFIX}/instructions.template"},
        "WorkteamArn": workteam_arn,
    },
    "LabelingJobName": JOB_NAME,
    "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
    "LabelAttributeName": "category",
    "LabelCategoryConfigS3Uri": f"s3://{BUCKET}/{PREFIX}/class_labels.json",
}
sagemaker.create_labeling_job(**ground_truth_request)

# 3. Wait for the workers.
deadline = time.time() + 120
while True:
    described = sagemaker.describe_labeling_job(LabelingJobName=JOB_NAME)
    status = described["LabelingJobStatus"]
    if status in ("Completed", "Failed", "Stopped") or time.time() > deadline:
        break
    time.sleep(0.5)

# 4. Read the output manifest.
lines = []
if status == "Completed":
    output_uri = described["LabelingJobOutput"]["OutputDatasetS3Uri"]
    bucket, key = output_uri[len("s3://") :].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
print(
    json.dumps(
        {
            "status": status,
            "failure": described.get("FailureReason"),
            "counters": described["LabelCounters"],
            "output_uri": described.get("LabelingJobOutput", {}).get("OutputDatasetS3Uri"),
            "lines": lines,
        }
    )
)

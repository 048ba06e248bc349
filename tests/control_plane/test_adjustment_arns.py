"""The managed service's adjustment and verification task types (issue 16) map onto Quorum's
``<type>-adjustment`` / ``<type>-verification`` task types."""

import io
import json

import pytest
from PIL import Image

from control_plane.arns import managed_task_type
from labeling.models import Job
from labeling.task_types import get_task_type
from tests.control_plane.conftest import MANAGED
from tests.control_plane.test_labeling_jobs import job_request

MAPPED = {
    "AdjustmentBoundingBox": "image-bounding-box-adjustment",
    "AdjustmentSemanticSegmentation": "image-semantic-segmentation-adjustment",
    "VerificationSemanticSegmentation": "image-semantic-segmentation-verification",
    "AdjustmentVideoObjectDetection": "video-object-detection-adjustment",
    "AdjustmentVideoObjectTracking": "video-object-tracking-adjustment",
}


@pytest.mark.parametrize(("name", "key"), MAPPED.items())
def test_the_managed_lambda_maps_onto_the_registered_task_type(name, key):
    for prefix in ("PRE-", "ACS-"):
        arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{prefix}{name}"
        assert managed_task_type(arn, field="f", prefixes=(prefix,)) == key
    assert get_task_type(key).key == key


SEGMENTATION_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-semantic-segmentation name="crowd-semantic-segmentation"
    src="{{ task.input.taskObject | grant_read_access }}"
    header="Correct the map" labels="{{ task.input.labels | to_json | escape }}">
  </crowd-semantic-segmentation>
</crowd-form>"""


ADJUST = "AdjustmentSemanticSegmentation"


def _png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 20), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
def test_create_labeling_job_with_the_adjustment_lambda_makes_an_adjustment_job(
    sagemaker, put_object, team
):
    put_object("s3://in/road.png", _png("#336699"))
    put_object("s3://in/earlier/road-mask.png", _png("#e6194b"))
    earlier = {
        "source-ref": "s3://in/road.png",
        "seg-ref": "s3://in/earlier/road-mask.png",
        "seg-ref-metadata": {
            "type": "groundtruth/semantic-segmentation",
            "internal-color-map": {"1": {"class-name": "car", "hex-color": "#e6194b"}},
        },
    }
    put_object("s3://in/adjust.jsonl", json.dumps(earlier) + "\n")
    put_object("s3://in/bare.jsonl", json.dumps({"source-ref": "s3://in/road.png"}) + "\n")
    put_object(
        "s3://in/categories.json", {"document-version": "2018-11-28", "labels": [{"label": "car"}]}
    )
    put_object("s3://in/template.liquid", SEGMENTATION_TEMPLATE)

    def request(name: str, manifest: str) -> dict:
        body = job_request(
            name,
            team,
            HumanTaskConfig={
                "PreHumanTaskLambdaArn": f"{MANAGED}:PRE-{ADJUST}",
                "AnnotationConsolidationConfig": {
                    "AnnotationConsolidationLambdaArn": f"{MANAGED}:ACS-{ADJUST}"
                },
            },
        )
        body["LabelAttributeName"] = "seg-adjusted"
        body["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] = manifest
        return body

    sagemaker.create_labeling_job(**request("adjust-1", "s3://in/adjust.jsonl"))
    described = sagemaker.describe_labeling_job(LabelingJobName="adjust-1")
    assert described["LabelingJobStatus"] == "InProgress", described.get("FailureReason")
    job = Job.objects.get(name="adjust-1")
    assert job.task_type == "image-semantic-segmentation-adjustment"

    sagemaker.create_labeling_job(**request("adjust-2", "s3://in/bare.jsonl"))
    described = sagemaker.describe_labeling_job(LabelingJobName="adjust-2")
    assert described["LabelingJobStatus"] == "Failed"
    assert "an adjustment item needs the label map of an earlier job" in described["FailureReason"]

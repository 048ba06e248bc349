"""ARNs: the ones Quorum hands out, and the managed service's own that scripts hard-code.

Scripts copy the managed ARNs from the service's documentation with their own region and an
AWS account of the service's (it differs per region), so any region and any account are taken:
the part that matters is the resource, e.g. ``function:PRE-BoundingBox`` or
``workteam/public-crowd/default``. An ARN that names nothing Quorum has is refused by name.
"""

import re
from dataclasses import dataclass

from django.conf import settings

_ARN = re.compile(
    r"^arn:aws[a-z\-]*:(?P<service>[a-z0-9\-]+):(?P<region>[a-z0-9\-]*):"
    r"(?P<account>[0-9]{12})?:(?P<resource>.+)$"
)

# The managed task types (PRE-<Type> / ACS-<Type> Lambdas, human-task-ui/<Type>) and the
# built-in Quorum task type each one maps to. Adjustment and verification types start from
# the earlier job's label on each item's line (issue 16, task_types/with_earlier_labels.py).
MANAGED_TASK_TYPES = {
    "BoundingBox": "image-bounding-box",
    "AdjustmentBoundingBox": "image-bounding-box-adjustment",
    "VerificationBoundingBox": "image-label-verification",
    "ImageMultiClass": "image-classification",
    "ImageMultiClassMultiLabel": "image-classification-multilabel",
    "SemanticSegmentation": "image-semantic-segmentation",
    "AdjustmentSemanticSegmentation": "image-semantic-segmentation-adjustment",
    "VerificationSemanticSegmentation": "image-semantic-segmentation-verification",
    "TextMultiClass": "text-classification",
    "TextMultiClassMultiLabel": "text-classification-multilabel",
    "NamedEntityRecognition": "text-entity-recognition",
    "VideoMultiClass": "video-classification",
    "VideoObjectDetection": "video-object-detection",
    "AdjustmentVideoObjectDetection": "video-object-detection-adjustment",
    "VideoObjectTracking": "video-object-tracking",
    "AdjustmentVideoObjectTracking": "video-object-tracking-adjustment",
}
# Managed types Quorum has no task type for: refused with this reason.
UNSUPPORTED_TASK_TYPES = {
    "3DPointCloudObjectDetection": "3D point clouds",
    "3DPointCloudObjectTracking": "3D point clouds",
    "3DPointCloudSemanticSegmentation": "3D point clouds",
    "Adjustment3DPointCloudObjectDetection": "3D point clouds",
    "Adjustment3DPointCloudObjectTracking": "3D point clouds",
    "Adjustment3DPointCloudSemanticSegmentation": "3D point clouds",
    "PointCloudObjectDetection": "3D point clouds",
    "PointCloudObjectTracking": "3D point clouds",
    "PointCloudSemanticSegmentation": "3D point clouds",
}
# The labeling-job algorithm specifications of automated labeling, by the task type they take.
ALGORITHMS = {
    "image-classification": ("image-classification",),
    "text-classification": ("text-classification",),
    "object-detection": ("image-bounding-box",),
    "semantic-segmentation": ("image-semantic-segmentation",),
}
PUBLIC_CROWD = "public-crowd/default"


class ArnRefused(ValueError):
    """An ARN Quorum does not know; the message names it and says what is accepted."""


@dataclass(frozen=True)
class Arn:
    service: str
    region: str
    account: str
    resource: str


def parse(arn: str, *, field: str) -> Arn:
    match = _ARN.match(arn or "")
    if match is None:
        raise ArnRefused(f"{field}: {arn!r} is not an ARN")
    return Arn(match["service"], match["region"], match["account"] or "", match["resource"])


def managed_task_type(arn: str, *, field: str, prefixes: tuple[str, ...]) -> str:
    """The Quorum task type of a managed PRE-/ACS- Lambda or a human-task-ui/<Type> ARN."""
    parsed = parse(arn, field=field)
    name = ""
    if parsed.service == "lambda" and parsed.resource.startswith("function:"):
        function = parsed.resource.removeprefix("function:").split(":")[0]
        for prefix in prefixes:
            if function.startswith(prefix):
                name = function.removeprefix(prefix)
    elif parsed.service == "sagemaker" and parsed.resource.startswith("human-task-ui/"):
        name = parsed.resource.removeprefix("human-task-ui/")
    if name in MANAGED_TASK_TYPES:
        return MANAGED_TASK_TYPES[name]
    if name in UNSUPPORTED_TASK_TYPES:
        raise ArnRefused(
            f"{field}: {arn} is the managed {name} task type; Quorum has no task type for "
            f"{UNSUPPORTED_TASK_TYPES[name]}"
        )
    accepted = ", ".join(f"{prefix}<Type>" for prefix in prefixes)
    raise ArnRefused(
        f"{field}: {arn} is not a managed function Quorum knows; Quorum runs no Lambda of "
        f"yours: use the managed ARNs ({accepted}, Type one of "
        f"{', '.join(sorted(MANAGED_TASK_TYPES))})"
    )


def algorithm(arn: str, *, field: str) -> str:
    parsed = parse(arn, field=field)
    name = parsed.resource.removeprefix("labeling-job-algorithm-specification/")
    if parsed.service != "sagemaker" or name == parsed.resource or name not in ALGORITHMS:
        raise ArnRefused(
            f"{field}: {arn} is not a labeling-job algorithm specification; known: "
            f"{', '.join(sorted(ALGORITHMS))}"
        )
    return name


def resource_name(arn: str, *, field: str, kind: str) -> str:
    """The name in an ARN of one of Quorum's (or the service's) ``kind/<name>`` resources."""
    parsed = parse(arn, field=field)
    if parsed.service != "sagemaker" or not parsed.resource.startswith(kind + "/"):
        raise ArnRefused(f"{field}: {arn} is not a {kind} ARN")
    return parsed.resource.removeprefix(kind + "/")


def account_id() -> str:
    """The account of Quorum's own ARNs (``QUORUM_ARN_PREFIX``)."""
    return settings.QUORUM_ARN_PREFIX.split(":")[4]


def quorum_arn(kind: str, name: str) -> str:
    return f"{settings.QUORUM_ARN_PREFIX}:{kind}/{name}"


def workteam_arn(kind: str, name: str) -> str:
    """A team's ARN: ``workteam/private-crowd/<name>``, ``vendor-crowd`` or the public crowd."""
    if kind == "crowd":
        return quorum_arn("workteam", PUBLIC_CROWD)
    return quorum_arn("workteam", f"{'vendor' if kind == 'vendor' else 'private'}-crowd/{name}")

"""CreateHumanTaskUi and DeleteHumanTaskUi: a human task UI is a version of a custom template."""

from django.db import transaction
from django.db.models import ProtectedError

from labeling.errors import Conflict
from labeling.models import CustomTemplate, User
from labeling.task_ui.services.templates import custom_template_create


def human_task_ui_create(*, created_by: User, name: str, source: str) -> CustomTemplate:
    if CustomTemplate.objects.filter(name=name).exists():
        raise Conflict(f"Human task UI {name} already exists", code="duplicate_name")
    return custom_template_create(created_by=created_by, name=name, source=source)


@transaction.atomic
def human_task_ui_delete(*, template: CustomTemplate) -> None:
    try:
        with transaction.atomic():
            template.delete()
    except ProtectedError:
        raise Conflict(
            f"Human task UI {template.name} is the task UI of a labeling job", code="in_use"
        ) from None

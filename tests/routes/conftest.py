"""The world every route is called in: a job of team A with items, a lease and an answer, a
template, a hook, a flow with a loop, two vendors, and the people each class of route refuses."""

import json

import pytest

from labeling.models import ImportRun, Role, TeamMembership, TeamRole
from labeling.review.services.comments import item_comment_add
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.users import user_create
from labeling.task_ui.services.templates import custom_template_create
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import vendor_create
from tests.conftest import client_for
from tests.routes.classes import (
    FLOW_WEBHOOK,
    FORGED_TOKEN,
    HOOK_URL,
    PRIVATE_COMMENT,
    SECRET_FLOW,
    SECRET_JOB,
    SECRET_MEMBER,
    SECRET_TEXT,
    SECRET_VENDOR,
)
from workflows.services.access_keys import access_key_create
from workflows.services.flows import flow_create
from workflows.services.loops import human_loop_start


@pytest.fixture
def world(manager, team, make_job, make_labeler, settings, django_capture_on_commit_callbacks):
    settings.QUORUM_OUTBOUND_ALLOW = ["203.0.113.0/24"]
    people = {
        "manager": manager,
        "labeler": make_labeler("lab-in"),
        "teammate": make_labeler("lab-mate"),
        "outsider": make_labeler("lab-out", on_team=(team_b := team_create(name="Team B"))),
    }
    # The outsider reviews their own team's jobs: a reviewer of team B, not of team A.
    TeamMembership.objects.filter(user=people["outsider"]).update(role=TeamRole.REVIEWER)
    people["other_manager"] = user_create(
        username="pm2", role=Role.MANAGER, password="manager-pass-2"
    )[0]
    people["former_manager"] = user_create(
        username="pm-gone", role=Role.MANAGER, password="manager-pass-3"
    )[0]
    acme = vendor_create(
        name=SECRET_VENDOR, manager_username="acme-boss", manager_password="acme-pw-77!x"
    )
    globex = vendor_create(name="Globex", manager_username="globex-boss",
                           manager_password="globex-pw-77!x")  # fmt: skip
    people["vendor_a"] = acme.vendor_manager
    people["vendor"] = globex.vendor_manager
    member = user_create(username=SECRET_MEMBER, role=Role.LABELER, team=acme)[0]
    user_create(username="acme-second", role=Role.LABELER, team=acme)

    job = make_job(items=0, start=False, name=SECRET_JOB, workers_per_item=2)
    from tests.conftest import import_lines

    import_lines(job, manager, [{"source": f"{SECRET_TEXT} {i}"} for i in range(4)])
    from labeling.services.jobs import job_start

    job_start(job=job, by=manager)
    lab = people["labeler"]
    answered = assignment_claim(job=job, worker=lab)
    annotation = annotation_submit(assignment_id=answered.pk, worker=lab, answer={"label": "cat"})
    item_comment_add(job=job, item_id=answered.item_id, author=lab, body=PRIVATE_COMMENT)
    lease = assignment_claim(job=job, worker=lab)
    job_b = make_job(items=2, name="job-b", team=team_b)
    outsider = people["outsider"]
    answer_b = assignment_claim(job=job_b, worker=outsider)
    annotation_submit(assignment_id=answer_b.pk, worker=outsider, answer={"label": "dog"})

    owner = client_for(manager)
    template = custom_template_create(
        created_by=manager, name="t1", source="<p>{{ task.input.source }}</p>", sample={}
    )
    hook = owner.post("/api/v1/hooks", {"name": "h1", "url": f"{HOOK_URL}/hook"}, format="json")
    assert hook.status_code == 201, hook.content
    named = owner.put(
        f"/api/v1/jobs/{job.pk}/hooks", {"consolidation_hook": hook.json()["id"]}, format="json"
    )
    assert named.status_code == 200, named.content
    taxonomy = owner.post(
        "/api/v1/taxonomies",
        {"name": "tax", "team_id": team.pk, "task_type": "text-classification",
         "definition": {"labels": ["a", "b"]}},
        format="json",
    )  # fmt: skip
    assert taxonomy.status_code == 201, taxonomy.content
    with django_capture_on_commit_callbacks(execute=True):  # the export runs after commit
        action = owner.post(
            f"/api/v1/jobs/{job.pk}/bulk-actions",
            {"kind": "export", "selection": {"filters": {}}, "params": {"format": "csv"}},
            format="json",
        )
    assert action.status_code in (201, 202), action.content
    flow = flow_create(
        created_by=manager, name=SECRET_FLOW, team=team, task_type="text-classification",
        labels=["cat", "dog"], webhook_url=FLOW_WEBHOOK,
    )  # fmt: skip
    loop = human_loop_start(flow=flow, name="loop-a1", input_content=json.dumps({"source": "x"}))
    key = access_key_create(user=manager)
    values = {
        "job_id": job.pk,
        "item_id": answered.item_id,
        "assignment_id": lease.pk,
        "annotation_id": annotation.pk,
        "import_id": ImportRun.objects.filter(job=job).order_by("pk").first().pk,
        "team_id": team.pk,
        "worker_id": lab.pk,
        "user_id": member.pk,
        "template_id": template.pk,
        "number": 1,
        "hook_id": hook.json()["id"],
        "taxonomy_id": taxonomy.json()["id"],
        "action_id": action.json()["id"],
        "flow_id": flow.pk,
        "name": loop.name,
        "key_id": key.pk,
        "frame": 0,
        "content_type_id": 1,
        "object_id": 1,
        "token": FORGED_TOKEN,
    }
    # What each person never sees: the managers' own configuration (hooks, keys) nobody but
    # its owner; vendor A's organization nobody of team A; team A's job, items, flow and
    # people nobody outside it.
    owner_only = [HOOK_URL, key.access_key_id]
    manager_only = [*owner_only, FLOW_WEBHOOK]
    team_a = [SECRET_JOB, SECRET_FLOW, SECRET_TEXT, "Team A", "lab-in"]
    vendor_a = [SECRET_MEMBER, SECRET_VENDOR]
    outside = [*team_a, *vendor_a, *manager_only]
    markers = {
        "labeler": [*vendor_a, *manager_only],
        "teammate": [*vendor_a, *manager_only],
        "other_manager": owner_only,
        **{person: outside for person in ("anon", "former_manager", "outsider", "vendor")},
    }
    return {
        "people": people,
        "values": values,
        "markers": markers,
        "manager_only": manager_only,
        "owner_only": owner_only,
        "own_job_of_outsider": job_b.pk,
    }

"""What the flow list shows: everything to managers, only the basics to labelers (issue 12)."""

from labeling.workforces.services.teams import team_create
from tests.conftest import client_for

# A webhook URL may carry a secret in its query (credentials in the authority are refused).
SECRET_URL = "https://hooks.example.com/quorum?token=hook-pass"


def test_a_labeler_sees_only_name_description_and_task_type_of_their_teams_flows(
    make_flow, manager_client, labeler_client, make_labeler
):
    flow = make_flow(
        webhook_url=SECRET_URL,
        conditions={"any": [{"confidence_below": 0.8}]},
        sample_percent=5,
        short_instructions="Is the model right?",
    )
    other = make_flow(team=team_create(name="Elsewhere"))

    rows = labeler_client.get("/api/v1/flows").json()

    assert rows == [
        {
            "id": flow.pk,
            "name": flow.name,
            "description": "Is the model right?",
            "task_type": "text-classification",
        }
    ]
    assert "hook-pass" not in labeler_client.get("/api/v1/flows").content.decode()
    managed = {row["id"]: row for row in manager_client.get("/api/v1/flows").json()}
    assert set(managed) == {flow.pk, other.pk}
    assert managed[flow.pk]["webhook_url"] == SECRET_URL
    assert managed[flow.pk]["sample_percent"] == 5
    assert managed[flow.pk]["conditions"] == {"any": [{"confidence_below": 0.8}]}
    outsider = client_for(make_labeler("outsider", on_team=team_create(name="Nobody's")))
    assert outsider.get("/api/v1/flows").json() == []

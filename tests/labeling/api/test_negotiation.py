"""The API's content negotiation: the usual Accept headers take a shortcut to the JSON
renderer (issue 20), and the others are negotiated as DRF does."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_usual_accept_headers_get_json(manager_client, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = manager_client.get("/api/v1/teams", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_other_accept_headers_are_negotiated_by_drf(manager_client):
    accepted = manager_client.get(
        "/api/v1/teams", HTTP_ACCEPT="text/html;q=0.9, application/json;q=0.8"
    )
    assert accepted.status_code == 200 and accepted["Content-Type"] == "application/json"
    refused = manager_client.get("/api/v1/teams", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert refused.json()["error"]["code"]

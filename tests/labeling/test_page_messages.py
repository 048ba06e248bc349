"""One-time messages are the pages' (labeling/middleware.py): API requests get no storage."""

from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory

from labeling.middleware import PageMessageMiddleware


def _through_middleware(path: str):
    seen = {}

    def view(request):
        seen["storage"] = getattr(request, "_messages", None)
        if seen["storage"] is not None:
            messages.info(request, "saved")
        return HttpResponse("ok")

    request = RequestFactory().get(path)
    request.session = {}  # what SessionMiddleware gives a page; the fallback store needs it
    response = PageMessageMiddleware(view)(request)
    return seen["storage"], response


def test_a_page_gets_message_storage_and_keeps_its_messages():
    storage, response = _through_middleware("/jobs/")
    assert storage is not None
    assert response.status_code == 200
    assert "messages" in response.cookies  # stored for the next page


def test_an_api_request_gets_no_message_storage():
    storage, response = _through_middleware("/api/v1/jobs/1/tasks/next")
    assert storage is None
    assert response.status_code == 200 and "messages" not in response.cookies

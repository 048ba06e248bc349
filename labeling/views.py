"""HTML views: the labeler portal and the manager console."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def home(request) -> HttpResponse:
    return HttpResponse("Quorum")

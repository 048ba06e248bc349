"""Top-level routes: the API, its schema and docs, the portal and console, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.defaults import page_not_found, server_error
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from labeling.errors import json_not_found, json_server_error
from labeling.forms import AdminSigninForm
from labeling.health import healthz
from labeling.views import signin, signin_throttle_status

admin.site.login_form = AdminSigninForm  # sign-in to the admin is throttled like /login/

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from ?script: no inline script (issue 12).
    path(
        "api/v1/docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"
    ),
    path("api/v1/", include("labeling.urls_api")),
    path("api/v1/", include("workflows.urls_api")),
    path("a2i/", include("workflows.urls_a2i")),
    path("api/v1/", include("active_learning.urls_api")),
    path("login/", signin, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/login/", signin_throttle_status(admin.site.login)),
    path("admin/", admin.site.urls),
    path("", include("workflows.urls")),
    path("", include("labeling.urls")),
    path("", include("active_learning.urls")),
    path("", include("control_plane.urls")),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return server_error(request)

"""The control plane, mounted at /sagemaker (botocore posts to the endpoint's path)."""

from django.urls import path

from control_plane.endpoint import endpoint

urlpatterns = [
    path("sagemaker", endpoint, name="sagemaker"),
    path("sagemaker/", endpoint, name="sagemaker-slash"),
]

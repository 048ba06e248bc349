"""Routes of the labeler portal (/work/) and the manager console (/console/)."""

from django.urls import path

from labeling import views

urlpatterns = [
    path("", views.home, name="home"),
]

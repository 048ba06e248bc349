"""Routes of the runtime API compatible with the managed service's, mounted under /a2i/."""

from django.urls import path

from workflows import a2i

urlpatterns = [
    path("human-loops", a2i.human_loops, name="a2i-human-loops"),
    path("human-loops/<str:name>", a2i.human_loop, name="a2i-human-loop"),
    path("output/<str:token>", a2i.human_loop_output, name="a2i-output"),
]

"""Who may call what: managers run jobs and teams, labelers work on their teams' jobs."""

from rest_framework.permissions import BasePermission

from labeling.models import Role


class IsManager(BasePermission):
    message = "only project managers may do this"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_manager)


class IsLabeler(BasePermission):
    message = "only labelers work on tasks"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.LABELER)

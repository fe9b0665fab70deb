"""Domain exceptions raised by actions; DRF's handler turns them into the one error shape."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException


class InvalidTransition(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This action is not allowed in the current state.")
    default_code = "invalid_transition"


class NotAllowed(APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("You may not perform this action.")
    default_code = "permission_denied"


class Conflict(APIException):
    """A 409 with a specific code, e.g. `phone_taken` or `already_rated`."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"

from types import ModuleType
from typing import Any

from django.urls import URLPattern, path


def case_urls(route: str, name: str, views: ModuleType, prefix: str) -> list[URLPattern]:
    """The routes of a kind of case, served by the views of `views` named
    `<prefix>ListCreateView` (`<route>/`, named `<route>`) and, for one case
    (`<route>/<uuid:pk>/…`, the views `case_views()` builds), `<prefix>DetailView`,
    `…TransitionView`, `…RatingView`, `…AttachmentView` and `…AttachmentFromUploadView`, named
    `<name>-detail`, `-transitions`, `-rating`, `-attachments` and `-attachments-from-upload`."""

    def view(kind: str) -> Any:
        return getattr(views, f"{prefix}{kind}View").as_view()

    one = f"{route}/<uuid:pk>"
    return [
        path(f"{route}/", view("ListCreate"), name=route),
        path(f"{one}/", view("Detail"), name=f"{name}-detail"),
        path(f"{one}/transitions/", view("Transition"), name=f"{name}-transitions"),
        path(f"{one}/rating/", view("Rating"), name=f"{name}-rating"),
        path(f"{one}/attachments/", view("Attachment"), name=f"{name}-attachments"),
        path(
            f"{one}/attachments/from-upload/",
            view("AttachmentFromUpload"),
            name=f"{name}-attachments-from-upload",
        ),
    ]

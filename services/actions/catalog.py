"""Withdrawing a service from the catalog, and offering it again."""

from django.db import transaction

from common.api.sync import record_removal
from services.models import (
    PublicService,
)

SERVICE_SYNC_KIND = "service"


def withdraw_service(service: PublicService) -> PublicService:
    """Take `service` out of the catalog; phones drop it at their next sync.

    The service stays in the database (dossiers refer to it) but is no longer listed, shown
    or accepted for new dossiers. Withdrawing a withdrawn service changes nothing.
    """
    with transaction.atomic():
        service = PublicService.objects.select_for_update().get(pk=service.pk)
        if service.is_active:
            service.is_active = False
            service.save(update_fields=["is_active", "updated_at"])
            record_removal(SERVICE_SYNC_KIND, service.code)
    return service


def offer_service(service: PublicService) -> PublicService:
    """Put a withdrawn `service` back in the catalog; phones get it at their next sync.

    Its new `updated_at`, later than the withdrawal, brings it back in `results`, and the
    sync leaves it out of `removed` while it is on offer.
    """
    with transaction.atomic():
        service = PublicService.objects.select_for_update().get(pk=service.pk)
        if not service.is_active:
            service.is_active = True
            service.save(update_fields=["is_active", "updated_at"])
    return service

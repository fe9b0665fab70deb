from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CommonConfig(AppConfig):
    # Chosen for the plain "common" entry of INSTALLED_APPS; the admin's config below is
    # named explicitly there.
    default = True
    name = "common"
    verbose_name = "Chung"


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the staff site (`common.admin_site.StaffAdminSite`) as
    `admin.site`: its header, language switch and dashboard."""

    default = False
    default_site = "common.admin_site.StaffAdminSite"

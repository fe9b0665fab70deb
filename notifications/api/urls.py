from django.urls import path

from notifications.api import views

urlpatterns = [
    path("devices/", views.DeviceRegistrationView.as_view(), name="device-register"),
    path("devices/<str:token>/", views.DeviceDetailView.as_view(), name="device-detail"),
    path("notifications/", views.InboxView.as_view(), name="notification-list"),
    path(
        "notifications/unread-count/",
        views.InboxUnreadCountView.as_view(),
        name="notification-unread-count",
    ),
    path("notifications/read-all/", views.InboxReadAllView.as_view(), name="notification-read-all"),
    path("announcements/", views.AnnouncementView.as_view(), name="announcement-create"),
    path(
        "notifications/<uuid:notification_id>/read/",
        views.InboxReadView.as_view(),
        name="notification-read",
    ),
]

from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/otp/", views.OtpView.as_view(), name="auth-otp"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/phone/change/", views.PhoneChangeView.as_view(), name="auth-phone-change"),
    path("auth/phone/verify/", views.PhoneVerifyView.as_view(), name="auth-phone-verify"),
    path("auth/claim/", views.ClaimStartView.as_view(), name="auth-claim"),
    path("auth/claim/confirm/", views.ClaimConfirmView.as_view(), name="auth-claim-confirm"),
    path("auth/token/", views.PhoneTokenObtainPairView.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/sessions/", views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<uuid:pk>/", views.SessionDetailView.as_view(), name="auth-session-detail"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/export/", views.MeExportView.as_view(), name="me-export"),
    path("me/consents/", views.ConsentListView.as_view(), name="me-consents"),
    path("ethnic-groups/", views.EthnicGroupListView.as_view(), name="ethnic-groups"),
]

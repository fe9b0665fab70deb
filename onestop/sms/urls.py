from django.urls import path

from onestop.sms.api import InboundSmsView

urlpatterns = [path("sms/inbound/", InboundSmsView.as_view(), name="sms-inbound")]

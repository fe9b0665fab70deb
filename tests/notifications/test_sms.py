"""SMS: segments, truncation to two segments, and the backends."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import sms
from notifications.messages import render_sms
from notifications.sms import (
    GSM7,
    UCS2,
    SmsOutcome,
    encoding_of,
    fit_text,
    memory_outbox,
    reset_memory_backend,
    segment_count,
    send_sms,
)

PHONE = "+84912345678"
VIETNAMESE = "Hồ sơ đã được tiếp nhận. "  # every word but "sơ" needs UCS-2


def test_encoding_is_gsm7_only_for_the_gsm_alphabet():
    assert encoding_of("Ho so DV-7K3M-9QX2-H da duoc tiep nhan. {€}") == GSM7
    assert encoding_of("Hồ sơ") == UCS2
    assert encoding_of("ខ្មែរ") == UCS2


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("ồ" * 70, 1),
        ("ồ" * 71, 2),
        ("ồ" * 134, 2),
        ("ồ" * 135, 3),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segment_count(text, segments):
    assert segment_count(text) == segments


def test_an_escape_pair_is_never_split_between_segments():
    # 152 septets then "€" (2): it cannot end the first 153-septet segment, so the second
    # segment starts with it.
    text = "a" * 152 + "€" + "a" * 152
    assert segment_count(text) == 3
    assert segment_count("a" * 151 + "€" + "a" * 153) == 2


def test_a_short_text_is_sent_as_it_is():
    assert fit_text("Ho so DV-1 da duoc tiep nhan") == ("Ho so DV-1 da duoc tiep nhan", False)


@pytest.mark.parametrize(
    ("text", "limit", "ellipsis"),
    [("Ho so da duoc tiep nhan. " * 20, 306, "..."), (VIETNAMESE * 20, 134, "…")],
)
def test_a_long_text_is_cut_to_two_segments_with_an_ellipsis(text, limit, ellipsis):
    fitted, truncated = fit_text(text)

    assert truncated
    assert fitted.endswith(ellipsis)
    assert segment_count(fitted) == 2
    assert len(fitted) <= limit
    # As long as two segments allow, less the ellipsis (and a trailing space cut before it).
    assert len(fitted) >= limit - len(ellipsis) - 1
    assert text.startswith(fitted[: -len(ellipsis)])


def test_cutting_never_splits_a_surrogate_pair():
    fitted, truncated = fit_text("😀" * 100)
    assert truncated
    assert fitted == "😀" * 66 + "…"  # 66 × 2 + 1 = 133 units of 134
    assert segment_count(fitted) == 2


def test_decomposed_vietnamese_is_composed_and_spaces_squashed():
    decomposed = "Ho\u0302\u0300  so\u031b\n"
    assert fit_text(decomposed) == ("Hồ sơ", False)


def test_the_memory_backend_keeps_what_was_sent():
    result = send_sms(PHONE, VIETNAMESE * 20)

    assert result.outcome == SmsOutcome.SENT and result.is_sent
    assert result.truncated and result.segments == 2 and result.encoding == UCS2
    assert result.message_id == "memory-1"
    [sent] = memory_outbox()
    assert (sent.phone, sent.text, sent.segments, sent.encoding) == (PHONE, result.text, 2, UCS2)

    reset_memory_backend()
    assert memory_outbox() == []


@pytest.mark.parametrize("phone", ["0912345678", "+84", "", "+84 912 345 678"])
def test_a_bad_number_fails_without_sending(phone):
    result = send_sms(phone, "Xin chao")
    assert result.outcome == SmsOutcome.FAILED and not result.is_sent
    assert result.error == "invalid phone number"
    assert memory_outbox() == []


def test_an_empty_text_fails_without_sending():
    result = send_sms(PHONE, "  \n ")
    assert (result.outcome, result.error) == (SmsOutcome.FAILED, "empty text")
    assert memory_outbox() == []


def test_the_log_backend_logs_with_the_number_masked(settings, caplog):
    settings.SMS_BACKEND = "log"
    with caplog.at_level(logging.INFO, logger="notifications.sms"):
        result = send_sms(PHONE, "Ho so DV-1 da duoc tiep nhan")

    assert result.is_sent
    assert "Ho so DV-1 da duoc tiep nhan" in caplog.text
    assert "+84…678" in caplog.text and PHONE not in caplog.text
    assert memory_outbox() == []


def test_an_unknown_backend_is_a_configuration_error(settings):
    settings.SMS_BACKEND = "nope"
    with pytest.raises(ImproperlyConfigured):
        send_sms(PHONE, "x")


def test_a_provider_is_one_more_backend(monkeypatch):
    class Provider:
        def send(self, message):
            return sms.SmsResult(
                SmsOutcome.FAILED, message.text, message.encoding, message.segments, error="busy"
            )

    monkeypatch.setitem(sms.BACKENDS, "memory", Provider())
    result = send_sms(PHONE, "x" * 400)
    assert (result.outcome, result.error, result.truncated) == (SmsOutcome.FAILED, "busy", True)


@pytest.mark.django_db
def test_a_notification_template_sent_by_sms():
    text = render_sms(
        "service_request.received",
        "vi",
        {"tracking_code": "DV-7K3M-9QX2-H", "agency_name": "UBND xã Lâm Bình"},
    )
    result = send_sms(PHONE, text)

    assert result.is_sent and not result.truncated
    assert memory_outbox()[0].text == "Hồ sơ DV-7K3M-9QX2-H đã được tiếp nhận"

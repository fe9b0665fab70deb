import io
import os
import re

import pytest
from PIL import Image

from common import files
from common.exceptions import InvalidInput
from tests import file_samples as samples

ALL = {files.IMAGE, files.PDF, files.AUDIO}


def inspect(data, allowed=ALL, name="upload.bin", content_type="application/octet-stream", **kw):
    return files.inspect_upload(samples.upload(data, name, content_type), allowed, **kw)


def error_code(excinfo):
    detail = excinfo.value.detail
    assert set(detail) == {"file"}
    return detail["file"][0].code


def reopened(content):
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_images_are_re_encoded_as_jpeg_without_any_metadata(fmt):
    original = samples.image_bytes(fmt)
    assert reopened(original).getexif().get_ifd(samples.GPS_IFD)  # the sample does carry GPS

    result = inspect(original, {files.IMAGE}, name=f"ảnh chụp.{fmt.lower()}")

    assert (result.kind, result.content_type, result.extension) == (
        files.IMAGE,
        "image/jpeg",
        "jpg",
    )
    assert result.name == "ảnh chụp.jpg"
    stored = reopened(result.content)
    assert stored.format == "JPEG"
    assert stored.size == (64, 48)
    assert not stored.getexif()
    assert "exif" not in stored.info and "icc_profile" not in stored.info
    assert b"Exif" not in result.content and b"PhoneMaker" not in result.content
    assert result.size == len(result.content)


def test_orientation_is_applied_before_the_metadata_goes():
    # Orientation 6: the camera held sideways; viewers rotate 90° clockwise.
    result = inspect(samples.image_bytes("JPEG", size=(80, 40), orientation=6), {files.IMAGE})

    stored = reopened(result.content)
    assert stored.size == (40, 80)
    # The dark top-left corner of the sensor image is now at the top right.
    assert max(stored.getpixel((37, 2))) < 60
    assert min(stored.getpixel((2, 2))) > 30


def test_large_images_are_scaled_down_and_get_a_small_preview():
    image = Image.new("RGB", (3000, 1500), (10, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG")

    result = inspect(out.getvalue(), {files.IMAGE})

    assert reopened(result.content).size == (2560, 1280)
    preview = reopened(result.preview)
    assert preview.format == "JPEG"
    assert preview.size == (320, 160)


def test_transparent_png_is_flattened_onto_white():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")

    stored = reopened(inspect(out.getvalue(), {files.IMAGE}).content)

    assert min(stored.getpixel((10, 10))) > 245


def test_an_image_with_too_many_pixels_is_refused(settings):
    settings.FILE_MAX_IMAGE_PIXELS = 1000

    with pytest.raises(InvalidInput) as excinfo:
        inspect(samples.image_bytes("PNG"), {files.IMAGE})

    assert excinfo.value.status_code == 400
    assert error_code(excinfo) == "image_too_large"


def test_pillow_decompression_bomb_error_is_a_400(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)

    with pytest.raises(InvalidInput) as excinfo:
        inspect(samples.image_bytes("JPEG"), {files.IMAGE})

    assert error_code(excinfo) == "image_too_large"


def test_a_pdf_is_kept_byte_for_byte():
    pdf = samples.pdf_bytes()

    result = inspect(pdf, {files.PDF}, name="giay-to.PDF")

    assert (result.kind, result.content_type, result.name) == (
        files.PDF,
        "application/pdf",
        "giay-to.pdf",
    )
    assert result.content == pdf
    assert result.preview is None


@pytest.mark.parametrize(
    ("build", "content_type", "seconds"),
    [
        (lambda: samples.amr_nb_bytes(150), "audio/amr", 3.0),
        (lambda: samples.amr_wb_bytes(100), "audio/amr-wb", 2.0),
        (lambda: samples.mp3_bytes(115), "audio/mpeg", 115 * 1152 / 44100),
        (lambda: samples.adts_aac_bytes(200), "audio/aac", 200 * 1024 / 44100),
        (lambda: samples.opus_bytes(4), "audio/ogg", 4.0),
        (lambda: samples.m4a_bytes(3), "audio/mp4", 3.0),
        (lambda: samples.m4a_bytes(3, brand=b"mp42"), "audio/mp4", 3.0),  # Android's brand
    ],
)
def test_audio_formats_are_recognised_with_their_duration(build, content_type, seconds):
    data = build()

    result = inspect(data, {files.AUDIO}, name="voice")

    assert result.kind == files.AUDIO
    assert result.content_type == content_type
    assert result.duration == pytest.approx(seconds, abs=0.05)
    assert result.content == data
    assert result.name == f"voice.{result.extension}"


def test_amr_duration_counts_twenty_milliseconds_per_frame():
    assert files.amr_duration(samples.amr_nb_bytes(1)) == pytest.approx(0.02)
    assert files.amr_duration(samples.amr_nb_bytes(15000)) == pytest.approx(300.0)


def test_a_long_amr_stream_is_not_walked_to_its_end():
    # One-byte NO_DATA frames: the most frames a byte budget can hold.
    data = b"#!AMR\n" + bytes([(15 << 3) | 0x04]) * 1_000_000

    assert files.amr_duration(data, stop_after=300) == pytest.approx(300.02)


def test_audio_longer_than_the_limit_is_refused(settings):
    settings.AUDIO_MAX_SECONDS = 2

    with pytest.raises(InvalidInput) as excinfo:
        inspect(samples.amr_nb_bytes(150), {files.AUDIO})

    assert error_code(excinfo) == "audio_too_long"


FORGED = {
    "text named .jpg": (
        b"Just some text pretending to be a photo.\n" * 20,
        "photo.jpg",
        "image/jpeg",
    ),
    "png header then garbage": (b"\x89PNG\r\n\x1a\n" + os.urandom(400), "scan.png", "image/png"),
    "truncated jpeg": (samples.image_bytes("JPEG", size=(200, 200))[:300], "a.jpg", "image/jpeg"),
    "executable named .pdf": (
        b"MZ\x90\x00\x03" + os.urandom(600),
        "giay-to.pdf",
        "application/pdf",
    ),
    "elf named .pdf": (b"\x7fELF\x02\x01\x01" + os.urandom(600), "giay-to.pdf", "application/pdf"),
    "pdf without its end": (samples.pdf_bytes()[:-40], "giay-to.pdf", "application/pdf"),
    "html named .pdf": (b"<html><script>alert(1)</script></html>", "x.pdf", "application/pdf"),
    "id3 tag then text": (b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"text" * 50, "a.mp3", "audio/mpeg"),
    "mpeg sync then noise": (b"\xff\xfb\x90\xc0" + os.urandom(3000), "a.mp3", "audio/mpeg"),
    "amr magic then text": (b"#!AMR\n" + b"hello, this is not speech" * 5, "a.amr", "audio/amr"),
    "amr cut mid-frame": (samples.amr_nb_bytes(10)[:-7], "a.amr", "audio/amr"),
    "amr with no frames": (b"#!AMR\n", "a.amr", "audio/amr"),
    "ogg magic then noise": (b"OggS" + os.urandom(500), "a.ogg", "audio/ogg"),
    "mp4 video as voice note": (samples.m4a_bytes(handler=b"vide"), "a.m4a", "audio/mp4"),
    "empty": (b"", "a.jpg", "image/jpeg"),
}


@pytest.mark.parametrize("case", FORGED.keys())
def test_forged_files_are_refused(case):
    data, name, content_type = FORGED[case]

    with pytest.raises(InvalidInput) as excinfo:
        inspect(data, ALL, name=name, content_type=content_type)

    assert excinfo.value.status_code == 400
    assert error_code(excinfo) == "unsupported_file_type"


def test_the_client_name_and_content_type_decide_nothing():
    png = samples.image_bytes("PNG")

    result = inspect(png, ALL, name="scan.pdf", content_type="application/pdf")

    assert result.content_type == "image/jpeg"
    assert result.name == "scan.jpg"


@pytest.mark.parametrize(
    ("data", "allowed"),
    [
        (samples.pdf_bytes(), {files.IMAGE}),
        (samples.image_bytes("JPEG"), {files.AUDIO}),
        (samples.amr_nb_bytes(), {files.IMAGE, files.PDF}),
    ],
)
def test_a_real_file_of_a_kind_not_allowed_here_is_refused(data, allowed):
    with pytest.raises(InvalidInput) as excinfo:
        inspect(data, allowed)

    assert error_code(excinfo) == "unsupported_file_type"


def test_size_caps_answer_413_file_too_large(settings):
    settings.FILE_MAX_PDF_BYTES = 200

    with pytest.raises(files.FileTooLarge) as excinfo:
        inspect(samples.pdf_bytes(), {files.PDF})

    assert excinfo.value.status_code == 413
    assert error_code(excinfo) == "file_too_large"


def test_the_cap_of_the_detected_kind_applies(settings):
    # Images may be large here, PDFs not: a PDF under the image cap is still too large.
    settings.FILE_MAX_PDF_BYTES = 100

    with pytest.raises(files.FileTooLarge):
        inspect(samples.pdf_bytes(), {files.IMAGE, files.PDF})
    assert inspect(samples.image_bytes("JPEG"), {files.IMAGE, files.PDF}).kind == files.IMAGE


def test_a_caller_may_lower_the_cap():
    with pytest.raises(files.FileTooLarge):
        inspect(samples.amr_nb_bytes(), {files.AUDIO}, max_bytes=1000)


def test_a_file_bigger_than_every_cap_is_refused_before_it_is_read(settings):
    settings.FILE_MAX_IMAGE_BYTES = 10
    settings.FILE_MAX_PDF_BYTES = 10
    upload = samples.upload(b"x" * 100)
    upload.chunks = None  # would fail if the content were read

    with pytest.raises(files.FileTooLarge):
        files.inspect_upload(upload, {files.IMAGE, files.PDF})


@pytest.mark.parametrize(
    ("name", "extension", "expected"),
    [
        ("Giấy khai sinh.PDF", "pdf", "Giấy khai sinh.pdf"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("C:\\Users\\Mai\\ảnh.jpeg", "jpg", "ảnh.jpg"),
        ("report.pdf.exe", "pdf", "report.pdf.pdf"),
        ('a<b>c:"d"|e?.png', "jpg", "a_b_c_d_e.jpg"),
        ("line\nbreak\x00.pdf", "pdf", "line_break.pdf"),
        (".htaccess", "pdf", "file.pdf"),
        ("", "amr", "file.amr"),
        ("x" * 300 + ".pdf", "pdf", "x" * 116 + ".pdf"),
    ],
)
def test_names_are_sanitised_and_take_the_detected_extension(name, extension, expected):
    assert files.sanitize_filename(name, extension) == expected


def test_content_disposition_has_an_ascii_fallback_and_the_exact_utf8_name():
    header = files.content_disposition('Giấy "đăng ký".pdf')

    assert header.startswith('attachment; filename="Giay _dang ky_.pdf"; ')
    assert header.endswith("filename*=UTF-8''Gi%E1%BA%A5y%20%22%C4%91%C4%83ng%20k%C3%BD%22.pdf")


def test_private_storage_lives_under_media_root_and_has_no_url(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "private": {"BACKEND": "common.files.PrivateStorage"}}
    settings.MEDIA_ROOT = str(tmp_path / "elsewhere")

    assert files.private_storage.location == str(tmp_path / "elsewhere" / "private")
    with pytest.raises(NotImplementedError):
        files.private_storage.url("ab/whatever.jpg")


def test_store_uses_random_names_and_delete_removes_both_files(settings):
    inspected = inspect(samples.image_bytes("JPEG"), {files.IMAGE}, name="photo.jpg")

    name, preview_name = files.store(inspected)

    pattern = re.compile(r"^([0-9a-f]{2})/\1[0-9a-f]{30}\.jpg$")
    assert pattern.match(name) and pattern.match(preview_name)
    assert "photo" not in name
    with files.private_storage.open(name, "rb") as stored:
        assert stored.read() == inspected.content
    files.delete_stored(name, preview_name)
    assert not files.private_storage.exists(name)
    assert not files.private_storage.exists(preview_name)


def test_a_tampered_or_foreign_token_resolves_to_nothing():
    assert files.resolve_download("not-a-token") is None
    assert files.resolve_download("W10:1tXk2c:abc") is None

"""PDF documents are checked with a PDF library: scripts, launch actions and embedded files
are refused; an ordinary scan passes."""

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from common import files
from common.exceptions import InvalidInput
from tests import file_samples as samples


def _pdf(build) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_javascript(writer):
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hi');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def with_attachment(writer):
    writer.add_attachment("note.txt", b"hidden payload")


def with_launch_action(writer):
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("calc.exe"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def inspect(data: bytes, name: str = "giay-to.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return files.inspect_upload(SimpleUploadedFile(name, data, "application/pdf"), {files.PDF})


def test_an_ordinary_pdf_passes():
    assert inspect(samples.pdf_bytes()).kind == files.PDF
    assert inspect(_pdf(lambda writer: None)).kind == files.PDF


@pytest.mark.parametrize("build", [with_javascript, with_attachment, with_launch_action])
def test_active_content_is_refused(build):
    with pytest.raises(InvalidInput) as refused:
        inspect(_pdf(build))
    assert refused.value.get_codes() == {"file": ["pdf_active_content"]}

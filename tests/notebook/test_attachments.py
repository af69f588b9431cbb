"""Attachment checks: content sniffing, size limit, harmless names."""

import pytest

from tests.notebook.factories import JPEG_BYTES, PDF_BYTES, PNG_BYTES
from webapp.notebook.attachments import checked_content_type, safe_filename
from webapp.notebook.errors import AttachmentTooLarge, EmptyFile, UnsupportedFileType


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():  # error messages are translated
        yield


@pytest.mark.parametrize(("content", "content_type"), [
    (PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg")])
def test_accepted_types_are_read_from_the_bytes(content, content_type):
    assert checked_content_type(content, 1000) == content_type


@pytest.mark.parametrize("content", [b"GIF89a\x01\x00", b"<html><script>", b"PK\x03\x04word", b" %PDF-1.4"])
def test_other_content_is_refused_whatever_its_name(content):
    with pytest.raises(UnsupportedFileType):
        checked_content_type(content, 1000)


def test_empty_and_oversized_files_are_refused():
    with pytest.raises(EmptyFile):
        checked_content_type(b"", 1000)
    with pytest.raises(AttachmentTooLarge) as refused:
        checked_content_type(PDF_BYTES + b"x" * 1000, 1000)
    assert refused.value.status == 413
    assert checked_content_type(PDF_BYTES + b"x" * (1000 - len(PDF_BYTES)), 1000) == "application/pdf"


@pytest.mark.parametrize(("name", "content_type", "safe"), [
    ("compte rendu échographie.pdf", "application/pdf", "compte rendu échographie.pdf"),
    ("../../etc/passwd", "application/pdf", "passwd.pdf"),
    ("C:\\Users\\marie\\radio.jpeg", "image/jpeg", "radio.jpg"),
    ("photo.exe", "image/png", "photo.png"),
    ("a\x00b\r\n\"quote\";.png", "image/png", "a_b_quote_.png"),
    ("....", "application/pdf", "document.pdf"),
    (None, "image/png", "document.png"),
    ("x" * 400 + ".pdf", "application/pdf", "x" * 150 + ".pdf"),
])
def test_file_names_are_sanitised(name, content_type, safe):
    assert safe_filename(name, content_type) == safe

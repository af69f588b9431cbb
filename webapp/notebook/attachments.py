"""Attachment checks: the type read from the file's first bytes, the size limit, a harmless name."""

import re
import unicodedata

from flask_babel import lazy_gettext as _l

from webapp.notebook.errors import AttachmentTooLarge, EmptyFile, UnsupportedFileType

# Magic numbers; the declared type and the file name are never trusted.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
FILENAME_MAX = 150
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\"*:<>?|;]+")


def sniffed_content_type(content: bytes) -> str | None:
    return next((content_type for magic, content_type in SIGNATURES if content.startswith(magic)), None)


def checked_content_type(content: bytes, max_bytes: int) -> str:
    """The content type of an acceptable file, or the error explaining why not."""
    if not content:
        raise EmptyFile(fields={"file": [str(EmptyFile.default_message)]})
    if len(content) > max_bytes:
        message = str(_l("The file is too large: at most %(size)s MB.", size=round(max_bytes / 1_000_000, 1)))
        raise AttachmentTooLarge(message, fields={"file": [message]})
    content_type = sniffed_content_type(content)
    if content_type is None:
        raise UnsupportedFileType(fields={"file": [str(UnsupportedFileType.default_message)]})
    return content_type


def safe_filename(filename: str | None, content_type: str) -> str:
    """The last path component without control or shell-special characters,
    ending in the extension of the sniffed type."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" .")[:FILENAME_MAX] or "document"
    return stem + EXTENSIONS[content_type]

"""Attachment checks: allowed types, decided by the file's content (magic bytes) and its name together."""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

import filetype

from acikkapi.services.errors import DomainError

# extension the client names → the kinds its content may be, as `filetype` names them
ALLOWED = {
    "png": {"png"}, "jpg": {"jpg"}, "jpeg": {"jpg"}, "bmp": {"bmp"}, "tif": {"tif"}, "tiff": {"tif"},
    "pdf": {"pdf"}, "doc": {"doc", "xls"}, "xls": {"xls", "doc"}, "docx": {"docx"}, "xlsx": {"xlsx"},
}
MIME = {"png": "image/png", "jpg": "image/jpeg", "bmp": "image/bmp", "tif": "image/tiff",
        "pdf": "application/pdf", "doc": "application/msword", "xls": "application/vnd.ms-excel",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ALLOWED_TEXT = ".png, .jpg, .jpeg, .bmp, .tif, .tiff, .doc, .docx, .xls, .xlsx, .pdf"


class FileTypeNotAllowed(DomainError):
    """An attachment's type is not allowed, or its content does not match its name."""

    code = "FILE_TYPE_NOT_ALLOWED"
    message = f"Dosya türü desteklenmiyor. Uygun dosya formatları: {ALLOWED_TEXT}"


class FileTooLarge(DomainError):
    """An attachment is over the size limit."""

    code = "FILE_TOO_LARGE"
    message = "Dosya boyutu en fazla 10MB olmalıdır."

    @classmethod
    def naming(cls, name: str, max_bytes: int) -> "FileTooLarge":
        return cls(f"“{name}” {max_bytes // (1024 * 1024)}MB sınırını aşıyor.", field="files")


class InvalidUpload(DomainError):
    code = "INVALID_UPLOAD"
    message = "Dosyalar yalnızca çok parçalı (multipart/form-data) istekle yüklenebilir."


class TooManyFiles(DomainError):
    code = "TOO_MANY_FILES"
    message = "Bir başvuruya eklenebilecek dosya sayısı aşıldı."


@dataclass(frozen=True)
class CheckedFile:
    file_name: str
    content_type: str
    size: int
    sha256: str


def display_name(raw: str | None) -> str:
    """The client's file name, reduced to something safe to show and to put in a header."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    return name[:200] or "dosya"


def check_file(source: BinaryIO, raw_name: str | None, max_bytes: int) -> CheckedFile:
    name = display_name(raw_name)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED:
        raise FileTypeNotAllowed(f"“{name}” dosyasının türü desteklenmiyor. Uygun dosya formatları: {ALLOWED_TEXT}",
                                 field="files")
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    head = source.read(8192)
    chunk = head
    while chunk:
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge.naming(name, max_bytes)
        digest.update(chunk)
        chunk = source.read(64 * 1024)
    kind = filetype.guess(head)
    if kind is None or kind.extension not in ALLOWED[extension]:
        raise FileTypeNotAllowed(f"“{name}” dosyasının içeriği uzantısıyla uyuşmuyor. "
                                 f"Uygun dosya formatları: {ALLOWED_TEXT}", field="files")
    return CheckedFile(file_name=name, content_type=MIME[kind.extension], size=size, sha256=digest.hexdigest())

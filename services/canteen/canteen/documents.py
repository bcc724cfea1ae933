"""Justification files: recognised by their content, kept outside any public folder."""
import base64
import binascii
import uuid
from dataclasses import dataclass
from pathlib import Path

from espace_common.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


MEDIA_TYPES = tuple(media_type for _, media_type, _ in SIGNATURES)


@dataclass(frozen=True)
class Justification:
    """A justification ready to store: the parent's name for it, its bytes, its media type and suffix."""

    name: str
    content: bytes
    media_type: str
    suffix: str


def recognise(content):
    """(media type, suffix) from the file's first bytes, whatever its name says."""
    for magic, media_type, suffix in SIGNATURES:
        if content.startswith(magic):
            return media_type, suffix
    raise InvalidInput("invalid_document", "Le justificatif doit être un fichier PDF, JPEG ou PNG.")


def decode(document):
    """{name, content_base64} -> (name, bytes), checking size and kind."""
    if not isinstance(document, dict):
        raise InvalidInput("invalid_document", "Le justificatif est invalide.")
    try:
        content = base64.b64decode(document.get("content_base64") or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_document", "Le justificatif est illisible.") from None
    if not content:
        raise InvalidInput("invalid_document", "Le justificatif est vide.")
    if len(content) > MAX_BYTES:
        raise InvalidInput("document_too_large", "Le justificatif ne doit pas dépasser 5 Mo.")
    media_type, suffix = recognise(content)
    name = Path(str(document.get("name") or "justificatif")).name[:150]
    return name, content, media_type, suffix


def inspect(document):
    """{name, content_base64} -> a Justification, or InvalidInput saying why not."""
    return Justification(*decode(document))


class DocumentStore:
    """Files under a private folder, named by a random id (never by what the parent called them)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def save(self, content, suffix):
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        relative = f"{uuid.uuid4().hex}{suffix}"
        (self.folder / relative).write_bytes(content)
        return relative

    def read(self, relative):
        path = (self.folder / relative).resolve()
        if self.folder.resolve() not in path.parents:
            raise InvalidInput("invalid_document", "Chemin de justificatif invalide.")
        return path.read_bytes()

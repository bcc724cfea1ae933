"""Justification files: opened with maintained libraries, refused unless they are what they claim, kept outside
any public folder.

A PDF must parse with pypdf, have a page, and carry no active content (JavaScript, automatic actions, launched
programs, embedded files); it is stored as pypdf writes it again, which leaves out whatever trailed its end.
An image must decode with Pillow as a JPEG or PNG of a bounded number of pixels; it is stored re-encoded, which
drops anything appended to it and its metadata (the phone's position among them).
"""
import base64
import binascii
import io
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from espace_common.errors import InvalidInput, NotFound

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; a "decompression bomb" declares far more
MAX_SIDE = 4000  # a certificate is readable at that size; larger photos are scaled down
MAX_PDF_OBJECTS = 100_000  # how many objects the active-content check walks before refusing
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")
SUFFIXES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
NOT_A_JUSTIFICATION = "Le justificatif doit être un fichier PDF, JPEG ou PNG."

# Keys that make a PDF do something when opened or clicked: refused in a justification.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA",
               "/SubmitForm", "/ImportData"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/Rendition", "/GoToE"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
log = logging.getLogger(__name__)
logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is refused; its warnings are noise


@dataclass(frozen=True)
class Justification:
    """A justification ready to store: the parent's name for it, its bytes, its media type and suffix."""

    name: str
    content: bytes
    media_type: str
    suffix: str


def inspect(document):
    """{name, content_base64} -> a Justification, or InvalidInput saying why not."""
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
    if content.startswith(b"%PDF-"):
        media_type, content = "application/pdf", checked_pdf(content)
    elif content.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        media_type, content = reencoded_image(content)
    else:
        raise InvalidInput("invalid_document", NOT_A_JUSTIFICATION)
    name = Path(str(document.get("name") or "justificatif")).name[:150] or "justificatif"
    return Justification(name, content, media_type, SUFFIXES[media_type])


def checked_pdf(content):
    """The PDF as pypdf writes it again, once it parsed, has a page and carries no active content."""
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise InvalidInput("invalid_document", "Le justificatif ne doit pas être un PDF protégé par un mot de passe.")
        if len(reader.pages) == 0:
            raise ValueError("no page")
        if carries_active_content(reader):
            raise InvalidInput("invalid_document", "Ce PDF contient des scripts ou des actions automatiques : "
                                                   "envoyez un PDF simple, une photo ou un scan du justificatif.")
        writer = PdfWriter(clone_from=reader)
        out = io.BytesIO()
        writer.write(out)
    except InvalidInput:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, RecursionError, OSError) as exc:
        log.info("refused a justification PDF: %s", exc)
        raise InvalidInput("invalid_document", f"Ce PDF est illisible. {NOT_A_JUSTIFICATION}") from None
    rewritten = out.getvalue()
    if len(rewritten) > MAX_BYTES:
        raise InvalidInput("document_too_large", "Le justificatif ne doit pas dépasser 5 Mo.")
    return rewritten


def carries_active_content(reader):
    """True when any object reachable from the trailer has a key or action that runs something."""
    seen, pending, walked = set(), [reader.trailer], 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        walked += 1
        if walked > MAX_PDF_OBJECTS:
            return True  # too intricate to be a scanned certificate
        if isinstance(item, DictionaryObject):
            if ACTIVE_KEYS & set(item.keys()) or item.get("/S") in ACTIVE_ACTIONS:
                return True
            opening = item.get("/OpenAction")
            opening = opening.get_object() if isinstance(opening, IndirectObject) else opening
            if isinstance(opening, DictionaryObject) and opening.get("/S") != "/GoTo":
                return True  # an action on opening other than "show this page"
            pending.extend(value for name, value in item.items() if name != "/Parent")
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return False


def reencoded_image(content):
    """(media type, bytes) of the image decoded by Pillow and encoded again, or InvalidInput."""
    try:
        with Image.open(io.BytesIO(content), formats=("JPEG", "PNG")) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise InvalidInput("invalid_document", "Cette image est trop grande : envoyez une photo ou un scan "
                                                       "de taille ordinaire.")
            probe.verify()
        with Image.open(io.BytesIO(content), formats=("JPEG", "PNG")) as image:
            kind = image.format
            image.load()
            image = ImageOps.exif_transpose(image)  # the photo as it was shot, before its metadata is dropped
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            if kind == "JPEG":
                image.convert("L" if image.mode == "L" else "RGB").save(out, "JPEG", quality=85, optimize=True)
                media_type = "image/jpeg"
            else:
                if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                    image = image.convert("RGBA")
                image.save(out, "PNG", optimize=True)
                media_type = "image/png"
    except InvalidInput:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            EOFError) as exc:
        log.info("refused a justification image: %s", exc)
        raise InvalidInput("invalid_document", f"Cette image est illisible. {NOT_A_JUSTIFICATION}") from None
    return media_type, out.getvalue()


class DocumentStore:
    """Files under a private folder, named by a random id (never by what the parent called them)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def save(self, content, suffix):
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        relative = f"{uuid.uuid4().hex}{suffix}"
        (self.folder / relative).write_bytes(content)
        return relative

    def delete(self, relative):
        if relative:
            (self.folder / relative).unlink(missing_ok=True)

    def read(self, relative):
        path = (self.folder / relative).resolve()
        if self.folder.resolve() not in path.parents:
            raise InvalidInput("invalid_document", "Chemin de justificatif invalide.")
        return path.read_bytes()


def read_recorded(unit_of_work, store, files, clock, absence_id, family_id=None, reader=None):
    """A justification's file, for its family (family_id given) or an agent (None); every read is recorded.

    `store` is the service's own: `absence(uow, id)` gives a row with family_id and the document's path, name and
    type; `record_document_read(uow, id, reader, now)` keeps who read it and when (GDPR).
    """
    with unit_of_work(read_only=True) as uow:
        row = store.absence(uow, absence_id)
    if row is None or row.document_path is None or (family_id is not None and row.family_id != family_id):
        raise NotFound("document_not_found", "Ce justificatif n'existe pas.")
    content = files.read(row.document_path)
    with unit_of_work() as uow:
        store.record_document_read(uow, absence_id, reader or (f"family:{family_id}" if family_id else "agent"),
                                   clock.now())
        uow.commit()
    return {"name": row.document_name, "media_type": row.document_type,
            "content_base64": base64.b64encode(content).decode("ascii")}

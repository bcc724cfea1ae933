"""Justifications are opened with pypdf and Pillow: what does not parse, or carries a script, is refused."""
import base64
import io

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from canteen import documents
from espace_common.errors import InvalidInput

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def as_document(content, name="certificat"):
    return {"name": name, "content_base64": base64.b64encode(content).decode()}


def pdf(change=None):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if change:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image(kind, size=(800, 600), **options):
    out = io.BytesIO()
    Image.new("RGB" if kind == "JPEG" else "L", size, "white").save(out, kind, **options)
    return out.getvalue()


def refused(content):
    with pytest.raises(InvalidInput) as error:
        documents.inspect(as_document(content))
    assert error.value.code == "invalid_document", error.value.message
    return error.value.message


def test_a_plain_pdf_is_kept_as_pypdf_writes_it():
    checked = documents.inspect(as_document(pdf() + b"\n" + HTML, "arrêt.pdf"))
    assert checked.media_type == "application/pdf" and checked.suffix == ".pdf" and checked.name == "arrêt.pdf"
    assert len(PdfReader(io.BytesIO(checked.content)).pages) == 1 and HTML not in checked.content


@pytest.mark.parametrize("content", [
    b"%PDF-1.4\n" + HTML,
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",  # no page: not a document
    b"%PDF-",
])
def test_what_only_starts_like_a_pdf_is_refused(content):
    assert "PDF" in refused(content)


def open_action_script(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('pwned')")})


def document_script(writer):
    """A script in the document's name tree, run by a reader when the file opens."""
    script = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert('pwned');")})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): DictionaryObject({
        NameObject("/Names"): ArrayObject([TextStringObject("start"), writer._add_object(script)])})})


def page_action(writer):
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): DictionaryObject({
        NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")})})


@pytest.mark.parametrize("change", [
    open_action_script,
    document_script,
    page_action,
    lambda writer: writer.add_attachment("payload.exe", b"MZ\x90\x00"),
])
def test_a_pdf_with_a_script_or_an_action_is_refused(change):
    assert "scripts" in refused(pdf(change))


def test_a_pdf_that_opens_on_its_first_page_is_fine():
    def open_on_page_one(writer):
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/GoTo"), NameObject("/D"): writer.pages[0].indirect_reference})
    assert documents.inspect(as_document(pdf(open_on_page_one))).media_type == "application/pdf"


def test_images_are_decoded_and_stored_re_encoded():
    jpeg = image("JPEG") + HTML
    checked = documents.inspect(as_document(jpeg, "photo.jpg"))
    assert checked.media_type == "image/jpeg" and checked.content != jpeg and HTML not in checked.content
    assert Image.open(io.BytesIO(checked.content)).size == (800, 600)
    png = documents.inspect(as_document(image("PNG")))
    assert png.media_type == "image/png" and Image.open(io.BytesIO(png.content)).format == "PNG"


def test_a_large_photo_is_scaled_down():
    checked = documents.inspect(as_document(image("JPEG", size=(6000, 4500))))
    assert Image.open(io.BytesIO(checked.content)).size == (4000, 3000)


@pytest.mark.parametrize("content", [
    b"\xff\xd8\xff\xe0" + HTML,  # JPEG's first bytes, then a web page
    b"\x89PNG\r\n\x1a\n" + HTML,
    image("JPEG")[:200],  # cut short
])
def test_what_only_starts_like_an_image_is_refused(content):
    assert "image" in refused(content)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    assert "trop grande" in refused(out.getvalue())


@pytest.mark.parametrize("content, code", [(b"MZ\x90\x00 not a pdf", "invalid_document"),
                                           (b"GIF89a", "invalid_document"),
                                           (b"%PDF-" + b"0" * (5 * 1024 * 1024), "document_too_large")])
def test_other_files_and_large_ones_are_refused(content, code):
    with pytest.raises(InvalidInput) as error:
        documents.inspect(as_document(content))
    assert error.value.code == code

"""Files people upload as evidence (photos, scans, PDFs), checked and cleaned the same way
by every service that keeps them (casework on its records, evaluation for ledger receipts).

A file's type is read from its first bytes (never from its name); an image is decoded and
re-encoded from its pixels alone, so no EXIF (GPS, device), text chunk or colour profile
survives, and its capture time (EXIF DateTimeOriginal) is kept as a field; a PDF is parsed
and rewritten page by page (its document information, which may name an author, is
dropped). The stored bytes are the cleaned ones: their SHA-256 is the file's identity."""
import io
import os
from datetime import datetime

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from .errors import ApiError
from .i18n import bilingual

register_heif_opener()  # HEIC/HEIF photos (iPhones) open like any other image
Image.MAX_IMAGE_PIXELS = 50_000_000  # a larger image is refused (a decompression bomb)

MAX_FILE_BYTES = int(os.environ.get("SOCIALWORK_MAX_FILE_BYTES", 10 * 1024 * 1024))
THUMBNAIL = (320, 320)
EXIF_IFD, DATETIME_ORIGINAL, DATETIME = 0x8769, 0x9003, 0x0132

NOT_EVIDENCE = bilingual("Not a JPEG, PNG, HEIC or PDF file",
                         "文件不是 JPEG、PNG、HEIC 或 PDF 格式")
UNREADABLE = bilingual("The file is damaged or cannot be read", "文件已损坏或无法读取")
ENCRYPTED = bilingual("An encrypted PDF cannot be kept as evidence", "加密的PDF不能作为凭证")


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves say, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1",
                                               b"msf1", b"hevc", b"hevx"):
        return "image/heic"
    return None


def captured_at(image: Image.Image) -> datetime | None:
    """When the camera says the photo was taken (EXIF DateTimeOriginal, else DateTime)."""
    exif = image.getexif()
    stamp = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    try:
        return datetime.strptime(str(stamp).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _pixels_only(image: Image.Image) -> Image.Image:
    """The image upright, rebuilt from its pixels: nothing of its metadata survives."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    return Image.frombytes(upright.mode, upright.size, upright.tobytes())


def _encoded(image: Image.Image, media_type: str) -> bytes:
    out = io.BytesIO()
    if media_type == "image/png":
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=88)
    return out.getvalue()


def clean_image(data: bytes, media_type: str) -> tuple[bytes, str, datetime | None, bytes]:
    """(cleaned bytes, their media type, capture time, thumbnail JPEG). HEIC is kept as JPEG,
    which every browser shows."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            taken = captured_at(image)
            clean = _pixels_only(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError):
        raise ApiError(422, fields={"file": [UNREADABLE]})
    stored_as = "image/png" if media_type == "image/png" else "image/jpeg"
    thumb = clean.copy()
    thumb.thumbnail(THUMBNAIL)
    return _encoded(clean, stored_as), stored_as, taken, _encoded(thumb, "image/jpeg")


def clean_pdf(data: bytes) -> bytes:
    """The PDF rewritten page by page, its document information left behind."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ApiError(422, fields={"file": [ENCRYPTED]})
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        if not writer.pages:
            raise ApiError(422, fields={"file": [UNREADABLE]})
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ApiError(422, fields={"file": [UNREADABLE]})
    return out.getvalue()



def served(content, digest: str):
    data, media_type = content
    response = current_app.response_class(data, mimetype=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Content-Disposition"] = f'inline; filename="{digest[:16]}"'
    return response

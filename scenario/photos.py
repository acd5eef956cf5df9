"""The photos the scenario's workers take of their sessions: a small generated JPEG per
photographed session, its pixels drawn from the session's key (so each is a different
file) and its EXIF capture time the session's start (so no capture-time flag fires).
About PHOTOGRAPHED of in-person sessions get one, chosen by the key, not the plan's random
stream (the plan stays as it was)."""
import hashlib
import io
import zlib

from PIL import Image

PHOTOGRAPHED = 0.4
SIZE = (48, 32)
DATETIME_ORIGINAL, EXIF_IFD = 0x9003, 0x8769


def photographed(key: tuple) -> bool:
    return zlib.crc32("/".join(key).encode()) % 100 < PHOTOGRAPHED * 100


def photo(key: str, taken: str) -> bytes:
    """A JPEG whose pixels are the key's hash; `taken` is "YYYY-MM-DD HH:MM"."""
    pixels = hashlib.shake_256(key.encode()).digest(SIZE[0] * SIZE[1] * 3)
    image = Image.frombytes("RGB", SIZE, pixels)
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken.replace("-", ":") + ":00"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()

"""Uploaded image checks and storage (product pictures, show covers).

Uploads are untrusted: the type is detected by Pillow from the bytes (never the file name or
the declared content type), huge pixel counts are refused before decoding (decompression
bombs), the whole image is decoded once to catch corrupt files, and the stored copy is a
re-encode, which drops EXIF (GPS positions in phone photos) and any other metadata.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from liveshop.core.errors import DomainError, InvalidInput

MAX_PIXELS = 40_000_000
FIELD = "file"
# Pillow format name -> (file extension, content type)
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class TooLarge(DomainError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def clean_image(data: bytes, max_bytes: int) -> CleanImage:
    if not data:
        raise InvalidInput("The file is empty", field=FIELD)
    if len(data) > max_bytes:
        raise TooLarge(f"Images can be at most {max_bytes // (1024 * 1024)} MB", field=FIELD)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            if kind in FORMATS and width * height <= MAX_PIXELS:
                probe.verify()
    except DECODE_ERRORS:
        raise InvalidInput("The file is not a readable JPEG, PNG or WebP image",
                           field=FIELD) from None
    if kind not in FORMATS:
        raise InvalidInput("Only JPEG, PNG and WebP images are accepted", field=FIELD)
    if width * height > MAX_PIXELS:
        raise InvalidInput(f"The image has more than {MAX_PIXELS // 1_000_000} megapixels",
                           field=FIELD)
    # verify() leaves the image unusable, and it does not decode pixel data: load() does.
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            encoded = _reencode(upright, kind)
    except DECODE_ERRORS:
        raise InvalidInput("The image is damaged and cannot be read", field=FIELD) from None
    extension, content_type = FORMATS[kind]
    return CleanImage(encoded, extension, content_type, upright.width, upright.height)


def _reencode(image: Image.Image, kind: str) -> bytes:
    # Pillow falls back to image.info for ICC profiles and EXIF when saving; clear it.
    image.info = {}
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif kind == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    elif kind == "PNG" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 88} if kind in ("JPEG", "WEBP") else {}
    image.save(out, format=kind, **options)
    return out.getvalue()


def store(media_dir: Path, folder: str, image: CleanImage) -> str:
    """Write the image under a random name in ``folder`` (e.g. "products/12"); returns the
    path relative to media_dir."""
    relative = f"{folder}/{secrets.token_hex(12)}.{image.extension}"
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(image.data)
    partial.replace(target)
    return relative


def remove(media_dir: Path, relative: str) -> None:
    root = media_dir.resolve()
    target = (root / relative).resolve()
    if target.is_relative_to(root):
        target.unlink(missing_ok=True)


def url_of(relative: str) -> str:
    return f"/media/{relative}"

"""Read a QR code from an uploaded photo (for devices without a usable camera).

Untrusted images: the upload is size-capped by the caller, Pillow's decompression-bomb
guard is on, and the picture is shrunk before decoding so a huge photo costs bounded CPU.
Decoding (zxing-cpp) is CPU work: call it from a worker thread.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

__all__ = ["MAX_UPLOAD_BYTES", "read_qr_texts"]

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
_MAX_SIDE = 1600
_MAX_PIXELS = 40_000_000


def read_qr_texts(data: bytes) -> list[str]:
    """The texts of the QR codes found in the image; empty when none or not an image."""
    if not data or len(data) > MAX_UPLOAD_BYTES:
        return []
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > _MAX_PIXELS:
                return []
            image.draft("L", (_MAX_SIDE, _MAX_SIDE))  # JPEG: decode at a reduced scale
            gray = image.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return []
    gray.thumbnail((_MAX_SIDE, _MAX_SIDE))
    results = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [r.text for r in results if r.valid and r.text]

"""Test media: a badge as a picture, as a fake webcam stream (Y4M), and PDF pages as images."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
import qrcode
import zxingcpp
from PIL import Image

__all__ = ["pdf_qr_texts", "qr_png", "write_y4m"]


def qr_image(payload: str) -> Image.Image:
    qr = qrcode.QRCode(box_size=10, border=4)
    qr.add_data(payload)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def qr_png(payload: str, path: Path) -> Path:
    """A photo-like upload: the QR on a larger grey background."""
    code = qr_image(payload)
    canvas = Image.new("RGB", (code.width + 300, code.height + 200), (200, 200, 190))
    canvas.paste(code, (150, 100))
    canvas.save(path)
    return path


def write_y4m(payload: str, path: Path, width: int = 640, height: int = 480) -> Path:
    """A Y4M file (4:2:0) that Chromium's fake capture device loops as the webcam."""
    code = qr_image(payload).resize((400, 400), Image.Resampling.NEAREST)
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(code, ((width - 400) // 2, (height - 400) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            out.write(b"FRAME\n" + planes)
    return path


def pdf_qr_texts(pdf: bytes, dpi: int = 150) -> list[list[str]]:
    """The QR texts found on each page of a PDF (rendered with PDFium)."""
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    pages: list[list[str]] = []
    try:
        for index in range(len(document)):
            image = document[index].render(scale=dpi / 72).to_pil().convert("L")
            found = zxingcpp.read_barcodes(
                image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            )
            pages.append([r.text for r in found if r.valid])
    finally:
        document.close()
    return pages

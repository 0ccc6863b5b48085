"""Badge sheets: a letter-size PDF of QR cards, laid out for 2 × 5 labels (Avery 5163).

Each card carries the student's name (so the teacher can hand it out), the district, and the
QR code; the QR itself holds only the badge URL and credential, never the name.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

__all__ = ["BadgeCard", "render_badge_sheet"]

COLUMNS, ROWS = 2, 5
LABEL_W, LABEL_H = 4 * inch, 2 * inch
MARGIN_X, MARGIN_Y, GAP_X = 0.15625 * inch, 0.5 * inch, 0.1875 * inch
QR_SIZE = 1.75 * inch


@dataclass(frozen=True, slots=True)
class BadgeCard:
    name: str
    caption: str  # e.g. the section title
    payload: str


def _fit(text: str, font: str, size: float, width: float) -> tuple[str, float]:
    """Shrink the font (down to 9 pt), then cut with an ellipsis, so text stays on the card."""
    while size > 9 and stringWidth(text, font, size) > width:
        size -= 1
    while stringWidth(text, font, size) > width and len(text) > 1:
        text = text[:-2] + "…"
    return text, size


def _draw_card(pdf: Canvas, x: float, y: float, card: BadgeCard, district_name: str) -> None:
    pdf.setLineWidth(0.5)
    pdf.setStrokeGray(0.6)
    pdf.roundRect(x + 4, y + 4, LABEL_W - 8, LABEL_H - 8, 10)
    widget = QrCodeWidget(card.payload, barLevel="M", barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0]
    )
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x + 0.1 * inch, y + (LABEL_H - QR_SIZE) / 2)
    text_x = x + 0.1 * inch + QR_SIZE + 0.1 * inch
    text_w = LABEL_W - (text_x - x) - 0.15 * inch
    pdf.setFillGray(0)
    name, size = _fit(card.name, "Helvetica-Bold", 20, text_w)
    pdf.setFont("Helvetica-Bold", size)
    pdf.drawString(text_x, y + LABEL_H * 0.58, name)
    caption, size = _fit(card.caption, "Helvetica", 11, text_w)
    pdf.setFont("Helvetica", size)
    pdf.drawString(text_x, y + LABEL_H * 0.40, caption)
    district, size = _fit(district_name, "Helvetica", 9, text_w)
    pdf.setFillGray(0.3)
    pdf.setFont("Helvetica", size)
    pdf.drawString(text_x, y + LABEL_H * 0.25, district)


def render_badge_sheet(district_name: str, cards: Sequence[BadgeCard]) -> bytes:
    """The PDF bytes: ten cards per page, left to right, top to bottom."""
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=letter, pageCompression=1)
    pdf.setTitle(f"{district_name}: sign-in badges")
    pdf.setAuthor("Homeroom")
    page_h = letter[1]
    per_page = COLUMNS * ROWS
    for start in range(0, max(len(cards), 1), per_page):
        for index, card in enumerate(cards[start : start + per_page]):
            col, row = index % COLUMNS, index // COLUMNS
            x = MARGIN_X + col * (LABEL_W + GAP_X)
            y = page_h - MARGIN_Y - (row + 1) * LABEL_H
            _draw_card(pdf, x, y, card, district_name)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()

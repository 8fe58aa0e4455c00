"""Build small .docx and .pdf files in memory for tests."""

from __future__ import annotations

import io

from docx import Document
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CHINESE_FONT = "STSong-Light"  # a CID font built into reportlab: no font file needed


def make_docx(title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word file: a Title paragraph, body paragraphs, then an optional table."""
    document = Document()
    document.add_heading(title, level=0)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with a text layer: each page a list of lines drawn top-down in a Chinese font."""
    pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for lines in pages:
        pdf.setFont(CHINESE_FONT, 11)
        y = 800
        for line in lines:
            pdf.drawString(40, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_image_only_pdf() -> bytes:
    """A PDF page with drawing but no text layer, as a scan would be."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.rect(50, 50, 400, 600, fill=1)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def wrap(text: str, width: int) -> list[str]:
    """Cut a paragraph into lines of width characters, as a layout engine would."""
    return [text[i : i + width] for i in range(0, len(text), width)]

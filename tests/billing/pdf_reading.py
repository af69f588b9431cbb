"""Reading generated PDFs back: text, positions and fonts, with pdfplumber."""

import io
import re

import pdfplumber
from pdfminer.pdftypes import resolve1
from reportlab.pdfbase.ttfonts import TTFont

from webapp.billing.invoice_pdf import FONT_DIR

FONT_FILES = {"DejaVuSans": "DejaVuSans.ttf", "DejaVuSans-Bold": "DejaVuSans-Bold.ttf"}


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page, in reading order."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() for page in pdf.pages]


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_pages(data))


def pdf_drawn_characters(data: bytes) -> str:
    """Every character as drawn, in content order: what layout-aware
    extraction would turn into plain spaces (U+202F) stays as it is."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "".join(char["text"] for page in pdf.pages for char in page.chars)


def pdf_text_left_of(data: bytes, heading: str) -> str:
    """The text left of the first word `heading` on each page: a table's first column."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        texts = []
        for page in pdf.pages:
            x = next(word["x0"] for word in page.extract_words() if word["text"] == heading)
            texts.append(page.crop((0, 0, x, page.height)).extract_text())
        return "\n".join(texts)


def pdf_column_text(data: bytes) -> str:
    """The text of the left half of each page, then of its right half: blocks
    laid side by side (seller and customer) read one after the other."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.crop(box).extract_text() for page in pdf.pages
                         for box in ((0, 0, page.width / 2, page.height), (page.width / 2, 0, page.width, page.height)))


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces as one space: a wrapped phrase reads whole."""
    return re.sub(r"\s+", " ", text)


def _intersect(a: dict, b: dict, slack: float) -> bool:
    return (min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > slack
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


def overlaps(data: bytes) -> list[tuple[str, str]]:
    """Pairs of text that share ink on a page: two lines whose boxes intersect,
    or two glyphs drawn over each other (as in "24/12/20126")."""
    found = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            lines = page.extract_text_lines(return_chars=False)
            for i, a in enumerate(lines):
                found += [(a["text"], b["text"]) for b in lines[i + 1:] if _intersect(a, b, 0.5)]
            chars = sorted((char for char in page.chars if char["text"].strip()), key=lambda char: char["x0"])
            for i, a in enumerate(chars):
                for b in chars[i + 1:]:
                    if b["x0"] >= a["x1"] - 0.5:
                        break
                    # Neighbouring glyphs may touch (kerning); overlapping by a third of a glyph is ink on ink.
                    if _intersect(a, b, min(a["x1"] - a["x0"], b["x1"] - b["x0"]) / 3):
                        found.append((a["text"], b["text"]))
    return found


def fonts_and_missing_glyphs(data: bytes) -> tuple[set[str], set[str]]:
    """The fonts the text is drawn in (subset prefixes removed), and the
    characters of the text their font has no glyph for (a box on paper)."""
    faces = {name: TTFont(name, str(FONT_DIR / file)).face for name, file in FONT_FILES.items()}
    fonts, missing = set(), set()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for char in page.chars:
                font = char["fontname"].split("+")[-1]
                fonts.add(font)
                face = faces.get(font)
                if face is None or ord(char["text"]) not in face.charToGlyph:
                    missing.add(char["text"])
    return fonts, missing


def embeds_fonts(data: bytes) -> bool:
    """Every font of the document carries its glyphs (a TrueType font file)."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        fonts = [resolve1(font) for page in pdf.pages
                 for font in resolve1(resolve1(page.page_obj.resources)["Font"]).values()]
        descriptors = [resolve1(resolve1(font["DescendantFonts"])[0])["FontDescriptor"] if "DescendantFonts" in font
                       else font["FontDescriptor"] for font in fonts]
        return bool(descriptors) and all("FontFile2" in resolve1(descriptor) for descriptor in descriptors)

"""QR codes as inline SVG for the pages (a phone's camera reads them off the screen or a
printout), drawn by reportlab's own QR widget: no image library, no JavaScript."""
from reportlab.graphics import renderSVG
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing


def svg(text: str, size: int = 240) -> str:
    """An <svg> element `size` pixels wide encoding `text`."""
    widget = QrCodeWidget(text)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0,
                                             size / (top - bottom), 0, 0])
    drawing.add(widget)
    out = renderSVG.drawToString(drawing)
    return out[out.index("<svg"):]  # without the XML prologue, to sit inside HTML

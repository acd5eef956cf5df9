"""The printable sign-in sheet (签到表) of a session: its date, place and topic, numbered rows
for the residents to sign, and a QR code of the session's id, so the photographed sheet
finds its way back onto the record. reportlab draws it with its built-in Chinese CID font
(STSong-Light: no font file needed) and its own QR code widget."""
import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
ROWS = 20
QR_SIZE = 28 * mm
COLUMNS = (("序号", 14 * mm), ("姓名", 40 * mm), ("楼栋/门牌", 40 * mm), ("联系电话", 40 * mm),
           ("签名", 46 * mm))


def _qr(record_id: str, x: float, y: float, pdf) -> None:
    widget = QrCodeWidget(record_id)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (right - left), 0, 0,
                                                   QR_SIZE / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x, y)


def sign_in_sheet(session) -> bytes:
    out = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1)
    pdf.setTitle(f"签到表 {session.id}")
    left, top = 15 * mm, height - 18 * mm
    pdf.setFont(FONT, 18)
    pdf.drawString(left, top, "服务活动签到表")
    pdf.setFont(FONT, 11)
    lines = (f"主题：{session.topic}", f"日期：{session.date.isoformat()}  "
             f"{session.start.isoformat('minutes')}–{session.end.isoformat('minutes')}",
             f"地点：{session.location}", f"记录编号：{session.id}")
    for n, line in enumerate(lines):
        pdf.drawString(left, top - (10 + 7 * n) * mm, line)
    _qr(session.id, width - 15 * mm - QR_SIZE, top - QR_SIZE + 6 * mm, pdf)
    row_height, y = 10 * mm, top - 45 * mm
    for n in range(ROWS + 1):
        x = left
        for column, (title, column_width) in enumerate(COLUMNS):
            pdf.rect(x, y - row_height, column_width, row_height)
            text = title if n == 0 else (str(n) if column == 0 else "")
            pdf.drawString(x + 2 * mm, y - row_height + 3.5 * mm, text)
            x += column_width
        y -= row_height
    pdf.setFont(FONT, 9)
    pdf.drawString(left, y - 8 * mm, "请居民本人签名。签到表拍照后上传至本记录，照片中的二维码即为记录编号。")
    pdf.showPage()
    pdf.save()
    return out.getvalue()

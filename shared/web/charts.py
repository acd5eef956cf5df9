"""Small charts drawn on the server as inline SVG: they need no script and no network, print
well, and read on a tablet. Each takes plain numbers and labels and returns markup."""
from markupsafe import Markup, escape

PALETTE = ("#1f6f8b", "#e07a5f", "#3d9970", "#8e6c8a", "#f2b134", "#5b7083")
WIDTH = 520


def _svg(height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _text(x, y, text, anchor="start", size=16, cls="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'class="{cls}">{escape(text)}</text>')


def _fmt(value, percent: bool) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def bars(rows: list[tuple[str, float | None, float | None]], title: str,
         percent: bool = False) -> Markup:
    """Horizontal bars, each with an optional target tick: (label, value, target)."""
    label_w, row_h, right = 170, 34, 60
    top = max([v or 0 for _, v, _ in rows] + [t or 0 for _, _, t in rows] + [1e-9])
    scale = (WIDTH - label_w - right) / top
    body = []
    for i, (name, value, target) in enumerate(rows):
        y = 10 + i * row_h
        body.append(_text(label_w - 8, y + 17, name, "end"))
        width = (value or 0) * scale
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="18" '
                    f'fill="{PALETTE[0]}" rx="2"/>')
        body.append(_text(label_w + width + 6, y + 17, _fmt(value, percent)))
        if target:
            tx = label_w + target * scale
            body.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 26}" '
                        f'stroke="{PALETTE[1]}" stroke-width="3" class="target"/>')
    return _svg(20 + len(rows) * row_h, body, title)


def funnel(stages: list[tuple[str, int]], title: str) -> Markup:
    """Centred bars narrowing rung by rung: how many reached each stage."""
    row_h, label_w = 36, 110
    top = max([n for _, n in stages] + [1])
    span = WIDTH - label_w - 20
    body = []
    for i, (name, count) in enumerate(stages):
        width = max(2.0, span * count / top)
        x = label_w + (span - width) / 2
        y = 8 + i * row_h
        body.append(_text(label_w - 8, y + 20, name, "end"))
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="28" '
                    f'fill="{PALETTE[i % len(PALETTE)]}" rx="3"/>')
        body.append(_text(label_w + span / 2, y + 19, str(count), "middle", cls="on-bar"))
    return _svg(16 + len(stages) * row_h, body, title)


def lines(x_labels: list[str], series: list[tuple[str, list[float | None]]], title: str,
          percent: bool = False) -> Markup:
    """One line per series over the x labels (periods); gaps where a value is None."""
    left, right, top, bottom, height = 50, 20, 14, 60, 260
    values = [v for _, vs in series for v in vs if v is not None]
    high = max(values + [1.0 if percent else 1])
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(1, len(x_labels) - 1)

    def point(i, v):
        return left + i * step, top + plot_h * (1 - v / high)

    body = [f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
            'stroke="#999"/>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        body.append(_text(left - 6, y + 4, _fmt(high * fraction, percent), "end", 14))
    every = -(-len(x_labels) // 5)  # at most five labels under the axis
    for i, name in enumerate(x_labels):
        if i % every == 0:
            body.append(_text(left + i * step, top + plot_h + 16, name, "middle", 14))
    for n, (name, vs) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        segments, current = [], []
        for i, v in enumerate(vs):
            if v is None:
                segments.append(current)
                current = []
                continue
            current.append(point(i, v))
            body.append(f'<circle cx="{point(i, v)[0]:.1f}" cy="{point(i, v)[1]:.1f}" r="3" '
                        f'fill="{colour}"/>')
        for segment in segments + [current]:
            if len(segment) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                            'stroke-width="2"/>')
        lx = left + (n % 3) * 150
        ly = height - 26 + (n // 3) * 18
        body.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(lx + 14, ly, name, size=14))
    return _svg(height + 18 * (len(series) // 3), body, title)

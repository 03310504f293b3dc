"""The training curve as a small standalone SVG (no plotting library): one panel per metric over env steps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

PANELS: tuple[tuple[str, str], ...] = (
    ("ep_len_s", "episode length (s)"),
    ("ep_return", "mean return"),
    ("tracking_error", "|v − cmd| (m/s)"),
)
PANEL_W, PANEL_H, PAD = 300, 180, 36


def _ticks(lo: float, hi: float) -> tuple[float, float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return 0.0, 1.0
    if hi - lo < 1e-9:
        return lo - 0.5, hi + 0.5
    return lo, hi


def _panel(x0: float, title: str, xs: Sequence[float], ys: Sequence[float]) -> list[str]:
    finite = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    lo, hi = _ticks(min((y for _, y in finite), default=0.0), max((y for _, y in finite), default=1.0))
    x_hi = max(xs, default=1.0) or 1.0
    w, h = PANEL_W - 2 * PAD, PANEL_H - 2 * PAD

    def px(x: float) -> float:
        return x0 + PAD + w * x / x_hi

    def py(y: float) -> float:
        return PAD + h * (1.0 - (y - lo) / (hi - lo))

    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in finite)
    return [
        f'<text x="{x0 + PAD}" y="{PAD - 14}" class="t">{escape(title)}</text>',
        f'<rect x="{x0 + PAD}" y="{PAD}" width="{w}" height="{h}" class="f"/>',
        f'<text x="{x0 + PAD - 4}" y="{PAD + 4}" class="a" text-anchor="end">{hi:.3g}</text>',
        f'<text x="{x0 + PAD - 4}" y="{PAD + h}" class="a" text-anchor="end">{lo:.3g}</text>',
        f'<text x="{x0 + PAD + w}" y="{PAD + h + 14}" class="a" text-anchor="end">{x_hi / 1e6:.1f} M steps</text>',
        f'<polyline points="{points}" class="l"/>',
    ]


def training_curve_svg(curve: Sequence[dict[str, Any]], title: str = "runrobot g1 train") -> str:
    """An SVG of ``curve`` entries (``env_steps`` plus the :data:`PANELS` keys), side by side."""
    xs = [float(c.get("env_steps", i)) for i, c in enumerate(curve)]
    body: list[str] = []
    for i, (key, label) in enumerate(PANELS):
        ys = [float(c.get(key, math.nan)) for c in curve]
        body += _panel(i * PANEL_W, label, xs, ys)
    width, height = PANEL_W * len(PANELS), PANEL_H + 10
    style = (
        "<style>.t{font:600 12px sans-serif;fill:#222}.a{font:10px sans-serif;fill:#555}"
        ".f{fill:#fafafa;stroke:#ccc}.l{fill:none;stroke:#1f77b4;stroke-width:1.5}</style>"
    )
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
            style,
            '<rect width="100%" height="100%" fill="#fff"/>',
            *body,
            "</svg>",
        ]
    )

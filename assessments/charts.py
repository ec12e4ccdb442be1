"""Server-rendered SVG charts: geometry computed here, drawn by ``templates/assessments/app/_chart_*``.

No JavaScript and no inline styles (the CSP refuses both): colours come from CSS classes in
``static/css/dashboard.css``. Every bar carries ``data-label`` / ``data-value`` so tests (and
assistive tools) read the numbers from the DOM, and every chart has a table beside it.
"""

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 600
HEIGHT = 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 10, 10, 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    css: str = ""

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    maximum: int
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - PAD_BOTTOM
    threshold_x: float | None = None  # a vertical line (a pass mark), in chart coordinates
    show_every: int = 1  # label every n-th bar (many days)

    @property
    def ticks(self) -> list[tuple[float, int]]:
        if not self.maximum:
            return [(self.baseline, 0)]
        plot = self.baseline - PAD_TOP
        return [(round(self.baseline - plot * f, 1), round(self.maximum * f)) for f in (0, 0.5, 1)]

    @property
    def labelled(self) -> list[tuple[int, Bar]]:
        return [(i, b) for i, b in enumerate(self.bars) if i % self.show_every == 0]


def bar_chart(items: list[tuple[str, int]], *, css: list[str] | None = None,
              threshold_percent: Decimal | None = None) -> BarChart:
    """Vertical bars for ``(label, value)``; ``threshold_percent`` draws a line across the x axis
    at that share of its width (the histogram's pass mark)."""
    plot_width = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_height = HEIGHT - PAD_TOP - PAD_BOTTOM
    maximum = max((v for _, v in items), default=0)
    slot = plot_width / max(len(items), 1)
    gap = min(slot * 0.15, 6)
    bars = []
    for i, (label, value) in enumerate(items):
        height = (plot_height * value / maximum) if maximum else 0
        bars.append(Bar(
            label=label, value=value, x=round(PAD_LEFT + i * slot + gap / 2, 1), y=round(HEIGHT - PAD_BOTTOM - height, 1),
            width=round(max(slot - gap, 1), 1), height=round(height, 1), css=(css[i] if css else ""),
        ))
    threshold_x = None
    if threshold_percent is not None:
        threshold_x = round(PAD_LEFT + plot_width * float(threshold_percent) / 100, 1)
    return BarChart(bars=bars, maximum=maximum, threshold_x=threshold_x,
                    show_every=max(1, len(items) // 12 + (1 if len(items) % 12 else 0)) if len(items) > 12 else 1)

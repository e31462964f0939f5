"""The bulletin's two charts as PNG images, with Chinese labels in an installed CJK font.

matplotlib draws with a font found on this machine (Noto Sans/Serif CJK, Source Han, WenQuanYi,
SimHei …). Before drawing, every character of the labels is looked up in that font, so a chart
never shows tofu boxes: without a font that has them there is no chart, and the caller says so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

# Families that cover simplified Chinese, best first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "FangSong",
    "Noto Sans CJK JP",
)
INSTALL_HINT = "Debian: apt-get install fonts-noto-cjk"


class NoChineseFont(RuntimeError):
    """No installed font has every character a chart needs."""


@cache
def cjk_font_path() -> str | None:
    """The file of the first installed CJK family, or None."""
    from matplotlib import font_manager

    for family in CJK_FAMILIES:
        for entry in font_manager.fontManager.ttflist:
            if entry.name == family:
                return str(entry.fname)
    return None


def _font(labels: Sequence[str]) -> object:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = cjk_font_path()
    if path is None:
        raise NoChineseFont(f"no Chinese font installed for the charts ({INSTALL_HINT})")
    face = FT2Font(path)
    missing = sorted(
        {
            ch
            for label in labels
            for ch in label
            if not ch.isspace() and face.get_char_index(ord(ch)) == 0
        }
    )
    if missing:
        raise NoChineseFont(f"the font {path} lacks {''.join(missing[:10])} ({INSTALL_HINT})")
    return font_manager.FontProperties(fname=path)


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(figure)  # type: ignore[arg-type]
    return buffer.getvalue()


def ranking_chart(units: Sequence[str], on_time: Sequence[float | None], title: str) -> bytes:
    """Horizontal bars of 按期办结率 (percent) per unit, first-ranked at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _font([*units, title, "按期办结率（%）"])
    height = max(2.0, 0.35 * len(units) + 1.0)
    figure, axes = plt.subplots(figsize=(6.2, height))
    values = [v * 100 if v is not None else 0.0 for v in on_time]
    positions = list(range(len(units)))[::-1]
    axes.barh(positions, values, color="#c00000")
    axes.set_yticks(positions, labels=list(units), fontproperties=font)
    axes.set_xlim(0, 100)
    axes.set_xlabel("按期办结率（%）", fontproperties=font)
    axes.set_title(title, fontproperties=font)
    for y, v, raw in zip(positions, values, on_time, strict=True):
        axes.text(v + 1, y, f"{v:.1f}" if raw is not None else "—", va="center", fontsize=8)
    return _png(figure)


def channel_chart(channels: Sequence[str], counts: Sequence[int], title: str) -> bytes:
    """Bars of the period's messages per channel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _font([*channels, title, "件数"])
    figure, axes = plt.subplots(figsize=(6.2, 3.0))
    axes.bar(range(len(channels)), counts, color="#1f4e79")
    axes.set_xticks(range(len(channels)), labels=list(channels), fontproperties=font, rotation=20)
    axes.set_ylabel("件数", fontproperties=font)
    axes.set_title(title, fontproperties=font)
    for x, n in enumerate(counts):
        axes.text(x, n, str(n), ha="center", va="bottom", fontsize=8)
    return _png(figure)

"""Screenshots of golden cards for docs/cards.md, rendered the way a CDS client shows them.

Each card's summary, indicator, detail (CommonMark with raw HTML on, as the CDS Hooks sandbox
renders it), suggestion buttons and links, from the golden JSON (`tests/hooks/golden/`), in a
plain card frame, photographed with headless Chromium:

    .venv/bin/python -m tests.support.card_screenshots
"""

from __future__ import annotations

import html
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt

from tests.support import golden

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = {  # file name: (golden patient, card index)
    "card-main.png": ("progressive-after-srs-in-field", 0),
    "card-warning.png": ("progressive-after-srs-in-field", 1),
}
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; padding: 12px; background: #f3f4f6; }
.card { background: #fff; border: 1px solid #d1d5db; border-left: 6px solid #d97706;
        border-radius: 4px; padding: 10px 16px; max-width: 760px; }
.card.info { border-left-color: #2563eb; }
.summary { font-weight: 700; font-size: 15px; margin: 2px 0 6px; }
.source { color: #6b7280; font-size: 12px; }
.detail p, .detail li { margin: 4px 0; }
.detail ul, .detail ol { padding-left: 22px; margin: 4px 0; }
.buttons button { margin: 6px 6px 0 0; padding: 4px 10px; border: 1px solid #2563eb;
                  background: #eff6ff; border-radius: 3px; font-size: 13px; }
.links a { display: inline-block; margin: 8px 12px 0 0; font-size: 13px; }
"""


def card_html(card: dict) -> str:
    detail = RENDERER.render("\n".join(card["detail"]))
    buttons = "".join(f"<button>{html.escape(s['label'])}</button>" for s in card["suggestions"])
    links = ""
    if "smart" in card["links"]:
        links += '<a href="#">Full salvage plan (SMART app)</a>'
    if "absolute" in card["links"]:
        links += '<a href="#">Review: Spalek &amp; Mandat, Cancers 2022</a>'
    return (f'<div class="card {card["indicator"]}"><div class="summary">'
            f'{html.escape(card["summary"])}</div><div class="source">Source: BCBM salvage '
            f'(Spalek &amp; Mandat, Cancers 2022)</div><div class="detail">{detail}</div>'
            f'<div class="buttons">{buttons}</div><div class="links">{links}</div></div>')


def screenshot(card: dict, target: Path, browser: str = "/usr/bin/chromium") -> None:
    page = f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>{card_html(card)}"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "card.html"
        source.write_text(page, "utf-8")
        height = 110 + 17 * sum(len(line) // 95 + 1 for line in card["detail"])
        height += 34 * (len(card["suggestions"]) // 3 + 1)
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--window-size=800,{height}",
                        f"--screenshot={target}", source.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> None:
    for name, (patient, index) in SHOTS.items():
        screenshot(golden.load(patient)[index], DOCS / name)
        print(DOCS / name, file=sys.stderr)


if __name__ == "__main__":
    main()

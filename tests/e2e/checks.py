"""What every page of a browser walk is held to: axe-core finds nothing, and at 390 px
the page does not scroll sideways. Screenshots of both widths go to a git-ignored folder."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"


def check_page(page, name: str) -> None:
    """axe-core on the page as it is (0 violations, no rule left out), then screenshots at
    1280 and 390 px, and no horizontal scroll at 390 px."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document)).violations.map(v => `${v.id} (${v.impact}): `
            + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert violations == [], f"{name} ({page.url}): {violations}"
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 390 px"

"""The README is the newcomer's map: it names every module and links only inside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("registry", "governance", "optout")


def _code_map_rows() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Where the code lives", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and cells[1].strip().startswith("`"):
            rows[cells[1].strip().strip("`").rstrip("/")] = cells[2]
    return rows


def test_the_code_map_names_every_module_of_each_app() -> None:
    rows = _code_map_rows()
    missing = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path.name == "__init__.py":
                continue
            named = f"`{path.name}`" in rows[app] or f"`{path.stem}`" in rows[app]
            if not named:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_the_readme_links_only_to_files_in_the_checkout() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", readme) + re.findall(r'src="([^"]+)"', readme)
    outside = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    outside += [t for t in targets if ".." in Path(t).parts]
    assert targets and outside == []

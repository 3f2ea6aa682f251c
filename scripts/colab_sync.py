"""Google Colab: the install cell near the top of every notebook, and the "Open in Colab" badges.

The install cell sits right under the notebook's title, with its code folded away (JupyterLab's
``source_hidden``): the first screen a class sees is the course, not set-up plumbing. It is still the
first code cell, so "Run All" runs it first.

The project's public address lives in ``REPO`` below and nowhere else. A fork changes that one line
and runs ``python scripts/colab_sync.py`` to rewrite the notebooks' first cells and the README's badges
(a test fails until it does).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = "gpt2lab/gpt2lab"  # owner/name of the public GitHub repository: the one line a fork changes
BRANCH = "main"

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
CELL_MARK = "# gpt2lab: Colab setup"
BADGES_START, BADGES_END = "<!-- colab-badges -->", "<!-- /colab-badges -->"


def install_requirement() -> str:
    """What pip installs in Colab: the kit from its repository (torch is not pinned, so Colab keeps its own)."""
    return f"gpt2lab @ git+https://github.com/{REPO}@{BRANCH}"


MAX_LINE = 88  # characters: no line of the cell needs a horizontal scrollbar at 1280x800


def colab_cell_source() -> str:
    """The first code cell of every notebook: installs the kit inside Colab, does nothing anywhere else."""
    return "\n".join([
        f"{CELL_MARK} (runs only inside Google Colab; does nothing elsewhere)",
        "import subprocess, sys",
        'if "google.colab" in sys.modules:',
        f'    KIT = "{install_requirement()}"',
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", KIT], check=True)',
    ])


def colab_cell() -> dict:
    """The set-up cell as notebook JSON: its code folded away in JupyterLab (click the bar to see it)."""
    return {"cell_type": "code", "execution_count": None, "id": "colab-setup",
            "metadata": {"jupyter": {"source_hidden": True}}, "outputs": [],
            "source": colab_cell_source().splitlines(keepends=True)}


def setup_cell_index(cells: list[dict]) -> int:
    """Where the set-up cell goes: right after the title (a first markdown cell), else first."""
    return 1 if cells and cells[0]["cell_type"] == "markdown" else 0


def badge_markdown(notebook: str) -> str:
    """An "Open in Colab" badge for one notebook file name."""
    url = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def badges_block(notebooks: list[str]) -> str:
    lines = [f"- `{nb.removesuffix('.ipynb')}` {badge_markdown(nb)}" for nb in notebooks]
    return "\n".join([BADGES_START, *lines, BADGES_END])


def sync(root: Path = ROOT) -> list[str]:
    """Put the current Colab cell first in every notebook and the badges in the README; return what changed."""
    changed = []
    notebooks = sorted(p for p in (root / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        nb = json.loads(path.read_text())
        cells = nb["cells"]
        old = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "".join(c["source"]).startswith(CELL_MARK)]
        rest = [c for i, c in enumerate(cells) if i not in old]
        wanted = rest[:setup_cell_index(rest)] + [colab_cell()] + rest[setup_cell_index(rest):]
        if wanted == cells:
            continue
        nb["cells"] = wanted
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        changed.append(path.name)
    readme = (root / "README.md").read_text()
    block = badges_block([p.name for p in notebooks])
    pattern = re.compile(re.escape(BADGES_START) + ".*?" + re.escape(BADGES_END), re.S)
    if pattern.search(readme) and pattern.search(readme).group(0) != block:
        (root / "README.md").write_text(pattern.sub(lambda _: block, readme))
        changed.append("README.md")
    return changed


if __name__ == "__main__":
    changed = sync()
    print("updated: " + ", ".join(changed) if changed else "everything already up to date")
    sys.exit(0)

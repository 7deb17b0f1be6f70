#!/usr/bin/env python3
"""Render README.md from nbs/index.ipynb without Quarto (nbdev-readme needs it).

Markdown cells are copied, code cells become ```python blocks (cells starting with `#|` directives
like `#| hide` are left out). `python tools/readme.py --check` exits 1 when README.md is out of date.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT/"nbs"/"index.ipynb") -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if not src.strip(): continue
        if c["cell_type"] == "markdown": parts.append(src.strip())
        elif c["cell_type"] == "code":
            if src.lstrip().startswith("#|"): continue
            parts.append("```python\n" + src.strip() + "\n```")
    return "\n\n".join(parts) + "\n"

if __name__ == "__main__":
    text, readme = render(), ROOT/"README.md"
    if "--check" in sys.argv:
        ok = readme.exists() and readme.read_text() == text
        print("README.md is in sync with nbs/index.ipynb" if ok else "README.md is out of date: run `make readme`")
        sys.exit(0 if ok else 1)
    readme.write_text(text); print(f"wrote {readme}")

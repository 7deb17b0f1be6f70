#!/usr/bin/env python3
"""Render README.md from nbs/index.ipynb, outputs and pictures included, without Quarto (nbdev-readme needs it).

Markdown cells are copied; code cells become ```python blocks (cells starting with a `#|` directive, like `#| hide`,
are left out) followed by their saved outputs (`make docs` saves them): text and tables as text blocks, images as
PNG files under docs/images/ that the README links to (altair charts carry their static PNG: tools/docs.py saves
one beside the spec), so that the repository page shows them. `python tools/readme.py --check` exits 1 when README.md's text is out of date or a picture
it links to is missing; it does not compare the pictures' bytes (vl-convert's PNGs are not byte-stable across
versions, and only the text says whether the README follows the notebook).
"""
import base64, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = "docs/images"   # relative to the repository root, as the README links them


def _text(v) -> str: return "".join(v) if isinstance(v, list) else v


def _output(o:dict, name:str, images:dict|None) -> str|None:
    "Markdown for output `o`; its picture (if any) is named `name` and, when `images` is given, produced into it."
    if o["output_type"] == "stream":
        return "```\n" + _text(o["text"]).rstrip() + "\n```" if o.get("name") == "stdout" else None
    if o["output_type"] == "error": return "```\n" + o.get("ename", "") + ": " + o.get("evalue", "") + "\n```"
    d = o.get("data", {})
    if "image/png" in d:
        if images is not None: images[name] = base64.b64decode(_text(d["image/png"]))
        return f"![]({IMAGES}/{name})"
    if "text/markdown" in d: return _text(d["text/markdown"]).strip()
    if "text/plain" in d: return "```\n" + _text(d["text/plain"]).rstrip() + "\n```"
    return None


def site_links(md:str) -> str:
    "Markdown links to notebooks, written relative to nbs/ for the site, made relative to the repository root."
    md = re.sub(r"\]\((?!https?:|/|#|nbs/)([^)]+\.ipynb|[^)]+/)\)", r"](nbs/\1)", md)
    md = re.sub(r"\]\((images/[^)]+)\)", r"](nbs/\1)", md)       # pictures kept beside the notebooks (nbs/images/)
    return md.replace("](../", "](")                                   # files of the repository outside nbs/


def render(nb_path=ROOT/"nbs"/"index.ipynb", images:dict|None=None) -> str:
    "README.md's text; with `images` (a dict), also the PNG bytes of each picture it links to, by file name."
    nb = json.loads(Path(nb_path).read_text())
    parts, stem = [], Path(nb_path).stem
    for c in nb["cells"]:
        src = _text(c["source"])
        if not src.strip(): continue
        if c["cell_type"] == "markdown": parts.append(site_links(src.strip())); continue
        if c["cell_type"] != "code" or src.lstrip().startswith("#|"): continue
        parts.append("```python\n" + src.strip() + "\n```")
        for i, o in enumerate(c.get("outputs", [])):
            md = _output(o, f"{stem}_{c.get('id')}_{i}.png", images)
            if md: parts.append(md)
    return "\n\n".join(parts) + "\n"


def linked_images(text:str) -> list:
    "The picture files (relative to the repository root) that README text links to: made from outputs, or kept in nbs/images/."
    return re.findall(r"!\[[^\]]*\]\(((?!https?:)[^)]+)\)", text)


def write(root=ROOT) -> Path:
    "Write README.md and its pictures (removing pictures of the notebook it no longer links to)."
    images = {}
    text = render(Path(root)/"nbs"/"index.ipynb", images)
    folder = Path(root)/IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("index_*.png"):
        if f.name not in images: f.unlink()
    for name, data in images.items():
        f = folder/name
        if not f.exists() or f.read_bytes() != data: f.write_bytes(data)
    (Path(root)/"README.md").write_text(text)
    return Path(root)/"README.md"


def problems(root=ROOT) -> list:
    "Why README.md is out of date (empty: in sync)."
    readme, text = Path(root)/"README.md", render(Path(root)/"nbs"/"index.ipynb")
    if not readme.exists() or readme.read_text() != text: return ["README.md's text differs from nbs/index.ipynb"]
    return [f"{f} is missing" for f in linked_images(text) if not (Path(root)/f).exists()]


if __name__ == "__main__":
    if "--check" in sys.argv:
        bad = problems()
        print("README.md is in sync with nbs/index.ipynb" if not bad else "; ".join(bad) + ": run `make readme`")
        sys.exit(1 if bad else 0)
    print(f"wrote {write()} and its pictures in {IMAGES}/")

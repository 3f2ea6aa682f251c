"""Jane Austen's six novels, from Debian's ``r-cran-janeaustenr`` package, as training text.

The R package stores each novel as a character vector, one printed line per element, in an R
"lazy-load database" (``data/Rdata.rdx`` is the index, ``data/Rdata.rdb`` the zlib-compressed
objects). We read it without R: the index is a gzip'd R serialisation that the ``rdata`` package
parses, and it gives each novel's ``(offset, length)`` in the .rdb; that blob is a 4-byte length
followed by a zlib stream of another R serialisation.

Lines are joined into paragraphs (a blank line ends one), everything before the first chapter
heading is dropped, and the novels are separated by ``<|endoftext|>``. The last
``HELDOUT_FRACTION`` of each novel (cut at a paragraph boundary) is held out for evaluation.

Licences: the novels are public domain; the ``janeaustenr`` package (Julia Silge) is MIT licensed.

Example::

    >>> train_text, heldout_text = load_austen()          # doctest: +SKIP
    >>> train_text[:33]                                     # doctest: +SKIP
    'CHAPTER I\\n\\nEmma Woodhouse, handsome'
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import tempfile
import warnings
import zlib
from pathlib import Path

from gpt2lab.tokenizer.bpe import END_OF_TEXT

HELDOUT_FRACTION = 0.05  # the last 5% of each novel's characters is never trained on
DEB_PACKAGE = "r-cran-janeaustenr"
DATA_DIR_IN_DEB = "usr/lib/R/site-library/janeaustenr/data"
# the order the package lists them in (alphabetical by object name); fixed so the split is stable
NOVELS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion"]
LICENCE_NOTE = (
    "Texts: Jane Austen's six novels, public domain. Source: Debian package r-cran-janeaustenr "
    "(R package janeaustenr by Julia Silge, MIT licence), itself from Project Gutenberg."
)
_CHAPTER = re.compile(r"^\s*chapter\s+(1|i)\b", re.IGNORECASE)


def cache_dir() -> Path:
    """Where downloads and derived files live: ``$GPT2LAB_CACHE`` or ``~/.cache/gpt2lab``."""
    path = Path(os.environ.get("GPT2LAB_CACHE", Path.home() / ".cache" / "gpt2lab"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_deb(dest: Path) -> Path:
    """``apt-get download r-cran-janeaustenr`` into ``dest`` (``apt-get update`` once if that fails).

    ``$GPT2LAB_JANEAUSTENR_DEB`` may point at an already downloaded .deb instead.
    """
    if os.environ.get("GPT2LAB_JANEAUSTENR_DEB"):
        return Path(os.environ["GPT2LAB_JANEAUSTENR_DEB"])
    run = lambda *cmd: subprocess.run(cmd, cwd=dest, capture_output=True, text=True)  # noqa: E731
    if run("apt-get", "download", DEB_PACKAGE).returncode != 0:
        run("apt-get", "update")  # a fresh CI image may have empty package lists
        result = run("apt-get", "download", DEB_PACKAGE)
        if result.returncode != 0:
            raise RuntimeError(f"apt-get download {DEB_PACKAGE} failed: {result.stderr.strip()}")
    (deb,) = glob.glob(str(dest / f"{DEB_PACKAGE}_*.deb"))
    return Path(deb)


def read_novel_lines(data_dir: Path) -> dict[str, list[str]]:
    """Read every novel from an unpacked package's ``Rdata.rdx``/``Rdata.rdb`` -> {name: lines}."""
    import rdata  # an optional dependency: pip install gpt2lab[train]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that the index has no .rds extension
        index = rdata.conversion.convert(rdata.parser.parse_file(data_dir / "Rdata.rdx"))
        blob = (data_dir / "Rdata.rdb").read_bytes()
        novels = {}
        for name, (offset, length) in index["variables"].items():
            # each entry: 4-byte big-endian uncompressed size, then a zlib stream
            raw = zlib.decompress(blob[offset + 4 : offset + length])
            novels[str(name)] = [str(line) for line in rdata.conversion.convert(rdata.parser.parse_data(raw))]
    return novels


def to_paragraphs(lines: list[str]) -> list[str]:
    """Join printed lines into paragraphs and drop the front matter before the first chapter.

    ``["Title", "", "CHAPTER I", "", "It is a", "truth."]`` -> ``["CHAPTER I", "It is a truth."]``
    """
    start = next(i for i, line in enumerate(lines) if _CHAPTER.match(line))
    paragraphs, current = [], []
    for line in lines[start:] + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return paragraphs


def split_novel(paragraphs: list[str], heldout_fraction: float = HELDOUT_FRACTION) -> tuple[str, str]:
    """(train, held-out) text of one novel: held-out is the last paragraphs, >= the fraction of chars."""
    total = sum(len(p) + 2 for p in paragraphs)
    tail, cut = 0, len(paragraphs)
    while tail < heldout_fraction * total:
        cut -= 1
        tail += len(paragraphs[cut]) + 2
    return "\n\n".join(paragraphs[:cut]), "\n\n".join(paragraphs[cut:])


def load_austen(refresh: bool = False) -> tuple[str, str]:
    """(train text, held-out text), each the six novels joined by ``<|endoftext|>``; cached."""
    folder = cache_dir() / "austen"
    train_path, heldout_path = folder / "train.txt", folder / "heldout.txt"
    if not refresh and train_path.exists() and heldout_path.exists():
        return train_path.read_text(encoding="utf-8"), heldout_path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        deb = download_deb(Path(tmp))
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        novels = read_novel_lines(Path(tmp) / DATA_DIR_IN_DEB)
    splits = [split_novel(to_paragraphs(novels[name])) for name in NOVELS]
    train = END_OF_TEXT.join(t for t, _ in splits)
    heldout = END_OF_TEXT.join(h for _, h in splits)
    folder.mkdir(parents=True, exist_ok=True)
    train_path.write_text(train, encoding="utf-8")
    heldout_path.write_text(heldout, encoding="utf-8")
    return train, heldout


def load_split(slice_chars: int | None = None) -> tuple[str, str]:
    """``load_austen()``, or for a CI-sized run its first ``slice_chars`` training characters and a
    held-out text a tenth as long (at least 2,000 characters)."""
    train, heldout = load_austen()
    if slice_chars:
        train, heldout = train[:slice_chars], heldout[: max(slice_chars // 10, 2000)]
    return train, heldout

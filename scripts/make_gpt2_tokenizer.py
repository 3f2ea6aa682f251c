"""Rebuild GPT-2's tokenizer files (vocab.json + merges.txt) from OpenAI's merge ranks.

GPT-2's byte-level BPE ships on the Hugging Face hub as ``vocab.json`` and ``merges.txt``, which we
cannot download here. The same BPE is inside the PyPI source package of ``openai-whisper``, as
``whisper/assets/gpt2.tiktoken``: one line per token, ``base64(token bytes) rank``. A rank file has no
merge list, but the merges can be recovered from the ranks alone: the token of rank r was made by the
r-th merge, so running BPE over its bytes with only the ranks below r must stop at exactly two
parts -- those two parts are the merge. (tiktoken's own ``_educational.py`` uses this argument.)

Example: the token ``b" the"`` has some rank r; BPE over ``[b" ", b"t", b"h", b"e"]`` with ranks < r
ends as ``[b" ", b"the"]`` or ``[b" t", b"he"]`` -- whichever it is, that pair is merge r.

Usage (from the repository root)::

    python scripts/make_gpt2_tokenizer.py                          # pip-downloads the whisper sdist
    python scripts/make_gpt2_tokenizer.py --sdist-dir /tmp/whisper/openai_whisper-20250625

Writes ``gpt2lab/assets/gpt2_tokenizer/{vocab.json,merges.txt,LICENSE,PROVENANCE.md}`` and copies the
rank file to ``tests/data/gpt2.tiktoken`` (with ``tests/data/gpt2.tiktoken.LICENSE``).
"""

from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "gpt2lab" / "assets" / "gpt2_tokenizer"
TEST_DATA = REPO / "tests" / "data"
EOT = "<|endoftext|>"
EOT_ID = 50256  # GPT-2's only special token, right after the 50,256 BPE tokens


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character (OpenAI's encoder.py).

    Printable bytes map to themselves; the others (space, control bytes, ...) are shifted to
    code points 256 and up, so every token can be written in a JSON/text file. ``b" "`` -> ``"Ġ"``.
    """
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def read_ranks(path: Path) -> dict[bytes, int]:
    """Read a ``.tiktoken`` file: ``base64(token) rank`` per line -> {token bytes: rank}."""
    ranks = {}
    for line in path.read_text().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def bpe_parts(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """Run BPE over ``token``'s bytes using only merges of rank < ``max_rank``.

    Each round merges the adjacent pair whose concatenation has the lowest rank.
    ``bpe_parts(ranks, b" the", ranks[b" the"])`` -> two parts, e.g. ``[b" t", b"he"]``.
    """
    parts = [bytes([b]) for b in token]
    while True:
        best, best_rank = None, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best is None:
            return parts
        parts[best : best + 2] = [parts[best] + parts[best + 1]]


def recover_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merge list in rank order: merge r (0-based) makes the token of rank 256 + r."""
    by_rank = sorted(ranks.items(), key=lambda kv: kv[1])
    assert [r for _, r in by_rank] == list(range(len(by_rank))), "ranks must be 0..n-1"
    assert all(len(t) == 1 for t, _ in by_rank[:256]), "ranks 0..255 must be the 256 single bytes"
    merges = []
    for token, rank in by_rank[256:]:
        parts = bpe_parts(ranks, token, rank)
        assert len(parts) == 2, f"token {token!r} (rank {rank}) does not split into one merge: {parts}"
        merges.append((parts[0], parts[1]))
    return merges


def fetch_sdist(workdir: Path) -> Path:
    """pip-download the openai-whisper source package into ``workdir`` and unpack it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "openai-whisper", "-d", str(workdir)],
        check=True,
    )
    (archive,) = glob.glob(str(workdir / "openai_whisper-*.tar.gz")) or glob.glob(str(workdir / "openai-whisper-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return Path(archive[: -len(".tar.gz")])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sdist-dir", type=Path, help="an unpacked openai-whisper sdist (default: pip download it)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist_dir or fetch_sdist(Path(tmp))
        source = sdist / "whisper" / "assets" / "gpt2.tiktoken"
        version = sdist.name.split("-")[-1]
        license_text = (sdist / "LICENSE").read_text()
        raw = source.read_bytes()

        ranks = read_ranks(source)
        merges = recover_merges(ranks)
        b2u = bytes_to_unicode()
        show = lambda t: "".join(b2u[b] for b in t)  # noqa: E731
        vocab = {show(t): r for t, r in ranks.items()}
        assert len(vocab) == EOT_ID
        vocab[EOT] = EOT_ID

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{show(a)} {show(b)}" for a, b in merges]
        (args.out / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (args.out / "LICENSE").write_text(license_text)
        sha = hashlib.sha256(raw).hexdigest()
        (args.out / "PROVENANCE.md").write_text(
            f"""# Provenance of these GPT-2 tokenizer files

- Source: `whisper/assets/gpt2.tiktoken` in the PyPI source distribution of `openai-whisper`
  version {version} (OpenAI's GPT-2 byte-level BPE ranks, {len(ranks)} tokens).
- sha256 of the source file: `{sha}`
- Licence: MIT, Copyright (c) 2022 OpenAI (see `LICENSE`, copied from the sdist).
- `vocab.json`: each token's bytes written with GPT-2's byte-to-unicode map -> its rank (= GPT-2 id),
  plus `{EOT}` = {EOT_ID}.
- `merges.txt`: `#version: 0.2`, then merge r on line r+2, recovered from the ranks (BPE over the bytes
  of the token of rank 256+r using only lower ranks ends in exactly two parts).
- Regenerate (from the repository root):

      python scripts/make_gpt2_tokenizer.py            # runs: pip download --no-deps --no-binary :all: openai-whisper
"""
        )
        TEST_DATA.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, TEST_DATA / "gpt2.tiktoken")
        (TEST_DATA / "gpt2.tiktoken.LICENSE").write_text(
            f"gpt2.tiktoken is copied unchanged from openai-whisper {version} (PyPI sdist,"
            f" whisper/assets/gpt2.tiktoken, sha256 {sha}).\nIts licence follows.\n\n" + license_text
        )


if __name__ == "__main__":
    main()

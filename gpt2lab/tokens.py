"""How a token reads on its own, for labels on figures and chips."""

from __future__ import annotations


def token_display_strings(tokenizer, ids: list[int]) -> list[str]:
    """The text of each token alone; a token that holds only part of a character shows its bytes.

    GPT-2's byte-level tokens can split a character (an emoji is 4 bytes), and decoding such a piece
    alone gives the replacement character. Those pieces are shown as their bytes, e.g. ``<F0 9F>``.
    """
    out = []
    for i in ids:
        text = tokenizer.decode([i])
        if "\ufffd" in text:
            raw = token_bytes(tokenizer, i)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = "<" + " ".join(f"{b:02X}" for b in raw) + ">"
        out.append(text)
    return out


def token_bytes(tokenizer, token_id: int) -> bytes:
    """The raw bytes of one token (GPT-2 writes bytes as printable characters, e.g. space as 'Ġ')."""
    byte_of = {ch: b for b, ch in _bytes_to_unicode().items()}
    piece = tokenizer.convert_ids_to_tokens(token_id)
    if any(ch not in byte_of for ch in piece):  # a special token such as <|endoftext|>
        return piece.encode("utf-8")
    return bytes(byte_of[ch] for ch in piece)


def _bytes_to_unicode() -> dict[int, str]:
    # TEMP: replaced by the tokenizer module's table
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table

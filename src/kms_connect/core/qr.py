"""A QR code as terminal text: two modules per character cell with half blocks (▀ ▄ █)."""

from __future__ import annotations


def qr_lines(text: str, *, border: int = 2) -> list[str]:
    """Rows of " ▀▄█" for `text`; draw them dark-on-light (e.g. black on white) to scan.

    Each character stacks two QR rows: upper half block = top module dark, lower = bottom dark.
    """
    import segno  # noqa: PLC0415 - at the first device code: ~5 ms (benchmarks/imports.py)

    matrix = [list(row) for row in segno.make(text, error="l", micro=False).matrix_iter(border=border)]
    if len(matrix) % 2:
        matrix.append([0] * len(matrix[0]))
    glyphs = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}
    return [
        "".join(glyphs[(bool(top), bool(bottom))] for top, bottom in zip(matrix[y], matrix[y + 1], strict=True))
        for y in range(0, len(matrix), 2)
    ]

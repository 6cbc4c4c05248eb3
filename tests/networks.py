"""Networks the tests share, written as the TOML a user writes."""

from __future__ import annotations

from collections.abc import Sequence

CONV = "conv(k=3, s=1, p=1)"  # keeps the size
POOL = "maxpool(k=2, s=2)"
UP = "convT(k=2, s=2)"


def unet(pools: Sequence[str], merges: Sequence[str] = (), bottom: bool = False) -> str:
    """A 1-D U-Net (axis H) as TOML. Going down, level l is the size-keeping conv e{l} and the pool d{l}
    (pools[l-1]); with `bottom`, one more conv after the last pool. Going up, level l is u{l} (convT k=2, s=2)
    joined with e{l} by merges[l-1]: "cat" (node c{l}, the default), "add" (r{l}), or "crop" (e{l} cropped to
    u{l}'s size as k{l}, then c{l} concatenates them)."""
    nodes: list[list[str]] = []

    def node(name: str, *lines: str) -> None:
        nodes.append([f'name = "{name}"', *lines])

    for level, pool in enumerate(pools, 1):
        node(f"e{level}", f'layer = "{CONV}"')
        node(f"d{level}", f'layer = "{pool}"')
    if bottom:
        node(f"e{len(pools) + 1}", f'layer = "{CONV}"')
    for level in range(len(pools), 0, -1):
        up, skip = f"u{level}", f"e{level}"
        merge = merges[level - 1] if level <= len(merges) else "cat"
        node(up, f'layer = "{UP}"')
        if merge == "add":
            node(f"r{level}", 'op = "add"', f'inputs = ["{up}", "{skip}"]')
            continue
        if merge == "crop":
            node(f"k{level}", 'op = "crop"', f'input = "{skip}"', f'size = "{up}"')
            skip = f"k{level}"
        else:
            assert merge == "cat", merge
        node(f"c{level}", 'op = "cat"', f'inputs = ["{up}", "{skip}"]')
    return 'dims = ["H"]\n' + "".join("[[node]]\n" + "\n".join(lines) + "\n" for lines in nodes)

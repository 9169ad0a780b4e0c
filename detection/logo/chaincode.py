"""Step 2 of the seed: thinning, hair (spur) removal and 8-direction chain-code tracing.

Directions follow Freeman's convention: 0 = east, counted anticlockwise (with image rows growing
downwards, 2 = up). A trace ends when the curve closes on its start point or runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (dx, dy) for codes 0..7; dy is in image rows (down is +1).
DIRECTIONS = ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))


@dataclass(frozen=True)
class ChainCode:
    start: tuple[int, int]
    codes: tuple[int, ...]
    closed: bool

    def points(self) -> np.ndarray:
        """The traced pixels (x, y), start included."""
        xs, ys = [self.start[0]], [self.start[1]]
        for code in self.codes:
            dx, dy = DIRECTIONS[code]
            xs.append(xs[-1] + dx)
            ys.append(ys[-1] + dy)
        return np.column_stack([xs, ys])


def _neighbours(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1)
    h, w = mask.shape
    return np.stack([padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dx, dy in DIRECTIONS])


def thin(mask: np.ndarray, max_iterations: int = 100) -> np.ndarray:
    """Zhang–Suen thinning to a one-pixel-wide skeleton."""
    image = mask.astype(bool).copy()
    for _ in range(max_iterations):
        changed = False
        for step in (0, 1):
            n = _neighbours(image)  # order: E NE N NW W SW S SE
            p2, p3, p4, p5, p6, p7, p8, p9 = n[2], n[1], n[0], n[7], n[6], n[5], n[4], n[3]
            count = n.sum(axis=0)
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            transitions = sum((~ring[i] & ring[i + 1]).astype(np.int32) for i in range(8))
            cond = ~(p2 & p4 & p6) & ~(p4 & p6 & p8) if step == 0 else ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = image & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if remove.any():
                image &= ~remove
                changed = True
        if not changed:
            break
    return image


def prune_spurs(skeleton: np.ndarray, length: int) -> np.ndarray:
    """Remove hairs: end-point branches up to ``length`` pixels long (closed curves are kept)."""
    image = skeleton.astype(bool).copy()
    for _ in range(length):
        ends = image & (_neighbours(image).sum(axis=0) == 1)
        if not ends.any():
            break
        image &= ~ends
    return image


def trace(skeleton: np.ndarray, start: tuple[int, int], max_steps: int = 100_000) -> ChainCode:
    """Follow a skeleton curve from ``start``, preferring to keep the current direction."""
    h, w = skeleton.shape
    x, y = start
    visited = {start}
    codes: list[int] = []
    direction = 0
    for _ in range(max_steps):
        moved = False
        for turn in (0, 1, -1, 2, -2, 3, -3, 4):
            code = (direction + turn) % 8
            dx, dy = DIRECTIONS[code]
            nx, ny = x + dx, y + dy
            if not (0 <= nx < w and 0 <= ny < h) or not skeleton[ny, nx]:
                continue
            if (nx, ny) == start and len(codes) >= 3:
                codes.append(code)
                return ChainCode(start, tuple(codes), True)
            if (nx, ny) in visited:
                continue
            visited.add((nx, ny))
            codes.append(code)
            x, y, direction, moved = nx, ny, code, True
            break
        if not moved:
            break
    return ChainCode(start, tuple(codes), False)

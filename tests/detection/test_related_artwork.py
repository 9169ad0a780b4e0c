"""Held-back variants of catalog drawings are told from innocent images."""

from __future__ import annotations

from detection.drawn import add_arrow, textured_photo
from detection.related_artwork import variants_of_catalog


def test_recoloured_and_altered_drawings_are_variants_and_unrelated_ones_are_not() -> None:
    catalog = {f"o{seed}": textured_photo(seed) for seed in range(1, 5)}
    arrow = add_arrow(textured_photo(1), seed=5)[0][:, :, ::-1].copy()  # a part added, recoloured
    held_back = {
        "arrow": arrow,
        "letter": textured_photo(2, swap_letter=(1, 2)),
        "other": textured_photo(9),
        "another": textured_photo(10),
    }
    assert variants_of_catalog(catalog, held_back) == {"arrow", "letter"}

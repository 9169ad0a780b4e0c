"""The counterfeit logo check: where a product's trademark sits betrays a counterfeit.

The seed's method, step by step (each a module with tests): Sobel edges with two thresholds
(:mod:`.edges`), thinning, hair removal and 8-direction chain-code tracing (:mod:`.chaincode`),
Fourier-descriptor complexity and chain-code perimeter (:mod:`.fourier`), the 1/3–2/3 logo band
of the product (:mod:`.band`, with the seed's missing ``y_min`` offset restored), the x-histogram
of edges split into seven positions (:mod:`.position`) and the trademark's shape class
(:mod:`.shape`). :mod:`.locate` chains them; :mod:`.check` generalises them to a brand's
registered logo (:mod:`.reference`) and the matcher's alignment.

Deviations from the seed, and why: thresholds come from the image's own edge-strength
percentiles (lighting varies between marketplaces); the product's width is measured at the
band's height (sleeves and handles would shift the centre line); product outline edges are
excluded by eroding the product mask before the histogram (otherwise every product would show
two "logos" at its sides).
"""

from detection.logo.check import LogoVerdict, check
from detection.logo.reference import LogoReference, reference_from_original

__all__ = ["LogoReference", "LogoVerdict", "check", "reference_from_original"]

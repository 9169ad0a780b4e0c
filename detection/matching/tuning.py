"""The matcher's tuning constants, in one place (each read where it is used, at call time)."""

from __future__ import annotations

MAX_HAMMING = 64  # of 256 bits: above this two ORB descriptors are unrelated
NEIGHBOURS = 2
SHORTLIST = 6  # originals verified per orientation
MIN_VOTES = 4
RANSAC_PIXELS = 5.0  # reprojection tolerance in the 480-px working frame
# A similarity needs 2 correspondences: 500 draws find an all-inlier pair with 99 % confidence
# down to an inlier ratio of 10 %, below which the candidate could not score anyway.
RANSAC_ITERATIONS = 500
MIN_SCALE, MAX_SCALE = 0.08, 12.0
SKIP_MIRROR_BELOW_RATE = 1e-6
# Structural agreement below which an alignment is in doubt and its alternatives are weighed:
# the mirrored pass for a conclusive plain match (a mirrored copy of a nearly symmetric product
# lines up its silhouette unmirrored, with many inliers, while its details disagree), and the
# other fits of the same correspondences (similarity, affine, homography). An alignment that
# agrees already stays, so a look-alike that agrees well is not polished further.
DOUBT_BELOW_AGREEMENT = 0.8
ZOOM = 2.0  # the second look at an unconvincing query: this many times the working resolution
ZOOM_FEATURES = 400
# The wide look, for a close-up (a detail cropped from the original and blown up): the query at
# 1/WIDE of the working size, when the best candidate shows the original at least WIDE_FROM_SCALE
# times larger than its own working frame.
WIDE = 2.0
WIDE_FROM_SCALE = 1.6
# The zoom only for listings this large (px, longest side): a smaller one has no detail that its
# working frame does not already show, and upsampling it further found nothing on the benchmarks.
ZOOM_MIN_SIDE = 600
# The dense look, for a query whose first passes found nothing plausible: a deeper detection, its
# repeated-pattern keypoints left out, many more features finely spread. A tiled watermark or a
# busy host photo takes most of a 400-feature budget (and of the 1200-keypoint pool it is chosen
# from) with its own corners; among the 3000 strongest keypoints the copied product's are there,
# and the watermark's letters, repeated across the image, are what the distinctiveness test drops.
DENSE_POOL = 3000
DENSE_FEATURES = 1000
DENSE_GRID = 8
# Raw false-alarm rate of the best candidate above which a query is unsettled: it gets the second
# look at twice the resolution, then its pasted pictures are matched and, if still unsettled, the
# strip fallback ranks it.
UNSETTLED_ABOVE_RATE = 1e-3
NOTHING_ABOVE_RATE = 0.05  # the best candidate is not even plausible: the dense look may help
DENSE_CANDIDATES = 30  # best-voted originals a feature-poor query is compared with as a strip
DENSE_MIN_SIMILARITY = 0.9  # normalised correlation a strip must reach to be ranked first
DENSE_ALL_BELOW = 200  # candidate sets this small (the seed's 101) are compared in full
MAX_PROPOSALS = 3  # pasted-picture rectangles matched on their own per unsettled query
FLAT_PROPOSAL = 8.0  # grey-level standard deviation below which a proposal is a filled box
# A conclusive match covering less of the listing than this leaves room for other pasted pictures.
COLLAGE_BELOW = 0.5
MAX_STRUCTURE_CHECKS = 8  # candidates aligned and compared per query at most (each ~1 ms)
CHECK_BELOW_RATE = 0.05  # raw false-alarm rate under which a candidate is always checked
STRUCTURE_WEIGHT = 4.0  # score evidence = inliers x agreement^4
RANK_WEIGHT = 0.5  # ranking evidence = inliers x agreement^0.5
# A similarity with this many inliers is refined to a homography (perspective, a stretched
# aspect ratio), adopted only when it explains many more correspondences and is a plausible view.
# Not below: a homography's eight parameters warp a same-cut look-alike's outline onto the
# original (a demo T-shirt: 13 similarity inliers, agreement 0.38 → 22 and 0.96, an alert).
REFINE_MIN_INLIERS = 20
REFINE_GAIN = 1.2  # ... and the homography must explain this many times the similarity's inliers
REFINE_KEEP = 0.7  # ... including this share of the similarity's own
MAX_AREA_CHANGE = 2.0  # the refined map may change the mapped original's area this much at most
MAX_DEPTH_RATIO = 3.0  # farthest over nearest corner of the original (projective depth)
# Originals' prepared thumbnails (:class:`detection.verify.Reference`, ~85 KB each) kept between
# queries: the same few hundred look-alikes come up as candidates again and again.
REFERENCE_CACHE = 512

"""Rectangle proposals: a picture pasted into another image is found by its frame."""

from __future__ import annotations

import cv2
import numpy as np

from detection.proposals import (
    MAX_AREA_FRACTION,
    MIN_AREA_FRACTION,
    MIN_SIDE,
    _sized_boxes,
    pasted_rectangles,
)
from tests.support.images import product_image


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def _host() -> np.ndarray:
    canvas = np.full((480, 420, 3), (60, 140, 200), np.uint8)
    cv2.circle(canvas, (120, 240), 90, (30, 90, 40), -1)
    return canvas


def test_a_pasted_picture_is_proposed() -> None:
    canvas = _host()
    piece = cv2.resize(product_image(1), (80, 96), interpolation=cv2.INTER_AREA)
    canvas[300:396, 290:370] = piece
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert boxes and max(_iou(box, (290, 300, 80, 96)) for box in boxes) > 0.8


def test_a_light_picture_on_a_light_page_is_proposed() -> None:
    page = np.full((480, 420), 238, np.uint8)  # a white studio shot on a light-grey page
    piece = np.full((120, 100), 250, np.uint8)
    cv2.circle(piece, (50, 60), 30, 40, 3)
    page[40:160, 20:120] = piece
    boxes = pasted_rectangles(page)
    assert boxes and max(_iou(box, (20, 40, 100, 120)) for box in boxes) > 0.8


def test_no_proposal_without_a_frame() -> None:
    gradient = np.tile(np.linspace(40, 220, 420, dtype=np.float32), (480, 1)).astype(np.uint8)
    cv2.circle(gradient, (200, 240), 120, 30, -1)
    assert pasted_rectangles(gradient) == []
    assert pasted_rectangles(np.full((100, 100), 255, np.uint8)) == []


def test_at_most_max_count_largest_first() -> None:
    canvas = _host()
    for i, (x, y, side) in enumerate([(10, 10, 60), (200, 20, 100), (300, 330, 80), (20, 380, 70)]):
        canvas[y : y + side, x : x + side] = cv2.resize(product_image(i), (side, side))
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY), max_count=2)
    assert len(boxes) == 2
    assert boxes[0][2] * boxes[0][3] >= boxes[1][2] * boxes[1][3]


def test_a_picture_pasted_against_the_edge_is_proposed() -> None:
    canvas = _host()
    canvas[345:465, 0:100] = cv2.resize(product_image(2), (100, 120), interpolation=cv2.INTER_AREA)
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert boxes and max(_iou(box, (0, 345, 100, 120)) for box in boxes) > 0.8


def test_a_pictures_own_panels_do_not_crowd_out_another_picture() -> None:
    canvas = _host()
    # A pasted calendar-like picture: a frame holding three nested panels (each a frame too).
    canvas[60:300, 160:400] = 245
    for inset in (12, 30, 48):
        cv2.rectangle(canvas, (160 + inset, 60 + inset), (400 - inset, 300 - inset), (90, 60, 30), 2)
    canvas[340:440, 30:120] = cv2.resize(product_image(3), (90, 100), interpolation=cv2.INTER_AREA)
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY), max_count=3)
    assert max(_iou(box, (30, 340, 90, 100)) for box in boxes) > 0.8


def test_a_picture_in_a_margin_closed_by_the_edge_is_proposed() -> None:
    canvas = np.full((480, 420, 3), (60, 140, 200), np.uint8)
    canvas[:, 200:] = (235, 235, 235)  # another product's photo takes the right side, edge to edge
    canvas[360:450, 40:120] = cv2.resize(product_image(4), (80, 90), interpolation=cv2.INTER_AREA)
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert max(_iou(box, (40, 360, 80, 90)) for box in boxes) > 0.8


def test_a_studio_shot_pasted_against_the_edge_is_proposed() -> None:
    canvas = _host()
    studio = np.full((110, 90, 3), 250, np.uint8)  # a plain white backdrop: the frame is its only edge
    cv2.ellipse(studio, (45, 55), (30, 40), 0, 0, 360, (40, 40, 40), 3)
    canvas[350:460, 0:90] = studio
    boxes = pasted_rectangles(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY))
    assert boxes and max(_iou(box, (0, 350, 90, 110)) for box in boxes) > 0.8


def test_contours_are_sized_as_their_bounding_rectangles() -> None:
    """All contours' boxes at once keep exactly those one ``boundingRect`` each would."""
    noise = (np.random.default_rng(5).random((240, 320)) > 0.93).astype(np.uint8) * 255
    edges = cv2.dilate(noise, np.ones((5, 5), np.uint8))
    contours = list(cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0])
    expected = []
    for index, contour in enumerate(contours):
        x, y, w, h = cv2.boundingRect(contour)
        share = w * h / (320 * 240)
        if min(w, h) >= MIN_SIDE and MIN_AREA_FRACTION <= share <= MAX_AREA_FRACTION:
            expected.append((index, (x, y, w, h)))
    assert len(contours) > 50 and expected
    assert _sized_boxes(contours, 320, 240) == expected
    assert _sized_boxes([], 320, 240) == []

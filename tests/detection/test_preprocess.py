import cv2
import numpy as np
import pytest

from detection.preprocess import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    SEED_MEAN,
    SEED_STD,
    preprocess,
    preprocess_batch,
    to_gray,
)


def test_seed_constants():
    # The seed: cv2.resize(image, (105, 125)) -> 105 wide, 125 high; its dataset's mean and std.
    assert (INPUT_WIDTH, INPUT_HEIGHT) == (105, 125)
    assert (SEED_MEAN, SEED_STD) == (0.8444, 0.5329)


def test_output_is_one_channel_125_high_105_wide_float():
    tensor = preprocess(np.zeros((300, 200, 3), np.uint8))
    assert tuple(tensor.shape) == (1, 125, 105)
    assert str(tensor.dtype) == "torch.float32"


@pytest.mark.parametrize("value", [0, 128, 255])
def test_normalisation_uses_the_seed_mean_and_std(value):
    tensor = preprocess(np.full((50, 60, 3), value, np.uint8))
    expected = (value / 255.0 - SEED_MEAN) / SEED_STD
    assert np.allclose(tensor.numpy(), expected, atol=1e-5)


def test_width_axis_is_the_last_one():
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, 100:] = 255  # right half white
    tensor = preprocess(image)[0].numpy()
    assert tensor[:, :40].max() < 0 < tensor[:, -40:].min()


def test_gray_conversion_matches_opencv_and_accepts_every_layout():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    assert np.array_equal(to_gray(bgr), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    bgra = np.dstack([bgr, np.full((40, 30), 255, np.uint8)])
    assert np.array_equal(to_gray(bgra), to_gray(bgr))
    assert np.array_equal(to_gray(bgr[:, :, 0]), bgr[:, :, 0])
    with pytest.raises(ValueError, match="shape"):
        to_gray(np.zeros((4, 4, 2), np.uint8))


def test_batch_stacks_images():
    batch = preprocess_batch([np.zeros((10, 10, 3), np.uint8), np.full((30, 80, 3), 255, np.uint8)])
    assert tuple(batch.shape) == (2, 1, 125, 105)
    assert batch[0].mean() < batch[1].mean()
    assert tuple(preprocess_batch([]).shape) == (0, 1, 125, 105)

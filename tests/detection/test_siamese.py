import numpy as np
import pytest
import torch

from detection.siamese import (
    SEED_POOL_GRID,
    SHIPPED_FC_RANK,
    SiameseNet,
    default_checkpoint,
    factorised,
    load_checkpoint,
    save_checkpoint,
)
from detection.train import TrainConfig, split_originals, train
from tests.support.images import product_photo


def test_similarity_is_a_symmetric_probability():
    torch.manual_seed(0)
    model = SiameseNet().eval()
    a, b = torch.randn(3, 1, 125, 105), torch.randn(3, 1, 125, 105)
    with torch.no_grad():
        ab, ba = model(a, b), model(b, a)
    assert ab.shape == (3,)
    assert torch.all((ab > 0) & (ab < 1))
    assert torch.allclose(ab, ba)


def test_the_shipped_recipe_keeps_the_seeds_flattened_fc_in_a_small_checkpoint(tmp_path):
    model = SiameseNet(pool_grid=SEED_POOL_GRID)
    assert model.twin[-2].in_features == 8 * 6 * 256  # the seed's FC over the flattened map
    save_checkpoint(tmp_path / "m.pt", factorised(model, SHIPPED_FC_RANK), half=True)
    assert (tmp_path / "m.pt").stat().st_size < 7_000_000  # whole, the FC alone is ~100 MB in float16


def test_the_shipped_checkpoint_is_the_seeds_network_trained_at_its_scale():
    model, meta, _ = load_checkpoint(default_checkpoint())
    assert model.pool_grid == SEED_POOL_GRID and model.fc_rank == SHIPPED_FC_RANK
    assert meta["epochs_done"] == 150 and meta["config"]["batch_size"] == 1024
    assert meta["config"]["lr"] == 3e-4


def test_save_load_round_trip_keeps_outputs_and_metadata(tmp_path):
    torch.manual_seed(1)
    model = SiameseNet().eval()
    x, y = torch.randn(2, 1, 125, 105), torch.randn(2, 1, 125, 105)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    save_checkpoint(tmp_path / "full.pt", model, {"epochs": 3}, optimizer=optimizer)
    save_checkpoint(tmp_path / "half.pt", model, {"epochs": 3}, half=True)
    full, meta, opt_state = load_checkpoint(tmp_path / "full.pt")
    half, _, no_state = load_checkpoint(tmp_path / "half.pt")
    with torch.no_grad():
        assert torch.equal(model(x, y), full(x, y))
        assert torch.allclose(model(x, y), half(x, y), atol=1e-2)
    assert meta == {"epochs": 3} and opt_state is not None and no_state is None


def test_foreign_file_is_refused(tmp_path):
    torch.save({"format": "something-else"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a copywatch Siamese checkpoint"):
        load_checkpoint(tmp_path / "x.pt")


def test_split_is_85_15_seeded_and_disjoint():
    ids = [f"o{i:03d}" for i in range(100)]
    train_ids, test_ids = split_originals(ids, 0.15, seed=0)
    assert len(test_ids) == 15 and len(train_ids) == 85 and not set(train_ids) & set(test_ids)
    assert split_originals(ids, 0.15, seed=0) == (train_ids, test_ids)
    assert split_originals(ids, 0.15, seed=1) != (train_ids, test_ids)


@pytest.fixture(scope="module")
def originals():
    return {f"o{i}": product_photo(i, 120, 150) for i in range(8)}


def test_short_training_run_lowers_the_loss_and_resumes_identically(originals, tmp_path):
    config = TrainConfig(epochs=3, batch_size=24, lr=1e-3, seed=0, device="cpu")
    full = train(originals, tmp_path / "full.pt", config, progress=False)
    losses = [h.train_loss for h in full.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert len(full.train_ids) == 6 and len(full.test_ids) == 2

    # Stop after 1 epoch, resume to 3: the same losses as the uninterrupted run (up to float noise).
    short = TrainConfig(epochs=1, batch_size=24, lr=1e-3, seed=0, device="cpu")
    train(originals, tmp_path / "part.pt", short, progress=False)
    resumed = train(originals, tmp_path / "part.pt", config, resume=tmp_path / "part.pt", progress=False)
    assert [h.epoch for h in resumed.history] == [1, 2, 3]
    assert np.allclose([h.train_loss for h in resumed.history], losses, rtol=1e-3)
    model, meta, _ = load_checkpoint(tmp_path / "part.pt")
    assert meta["epochs_done"] == 3 and meta["train_ids"] == full.train_ids


def test_bfloat16_training_lowers_the_loss_and_keeps_float32_weights(originals, tmp_path):
    config = TrainConfig(epochs=3, batch_size=24, lr=1e-3, seed=0, device="cpu", precision="bf16")
    result = train(originals, tmp_path / "bf16.pt", config, progress=False)
    losses = [h.train_loss for h in result.history]
    assert losses[-1] < losses[0]
    model, meta, _ = load_checkpoint(tmp_path / "bf16.pt.resume")
    assert meta["config"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_an_unknown_precision_is_refused(originals, tmp_path):
    with pytest.raises(ValueError, match="precision"):
        train(originals, tmp_path / "x.pt", TrainConfig(epochs=1, precision="fp8"), progress=False)


def test_a_spatial_pooling_grid_survives_the_checkpoint(tmp_path):
    torch.manual_seed(2)
    model = SiameseNet(pool_grid=(2, 2)).eval()
    assert model.twin[-2].in_features == 256 * 4
    save_checkpoint(tmp_path / "grid.pt", model, half=True)
    loaded, _, _ = load_checkpoint(tmp_path / "grid.pt")
    x, y = torch.randn(2, 1, 125, 105), torch.randn(2, 1, 125, 105)
    assert loaded.pool_grid == (2, 2)
    with torch.no_grad():
        assert torch.allclose(model(x, y), loaded(x, y), atol=1e-2)


def test_a_factorised_fc_reproduces_a_low_rank_fc_and_survives_the_checkpoint(tmp_path):
    torch.manual_seed(3)
    model = SiameseNet(pool_grid=(2, 2)).eval()
    fc = model.twin[-2]
    with torch.no_grad():  # an FC that is exactly rank 8: the factorisation must lose nothing
        fc.weight.copy_(torch.randn(4096, 8) @ torch.randn(8, 1024) / 30)
    slim = factorised(model, 8)
    assert slim.fc_rank == 8 and sum(p.numel() for p in slim.parameters()) < 0.3 * sum(
        p.numel() for p in model.parameters()
    )
    x, y = torch.randn(3, 1, 125, 105), torch.randn(3, 1, 125, 105)
    with torch.no_grad():
        assert torch.allclose(model(x, y), slim(x, y), atol=1e-4)
    save_checkpoint(tmp_path / "slim.pt", slim, half=True)
    loaded, _, _ = load_checkpoint(tmp_path / "slim.pt")
    assert loaded.fc_rank == 8 and loaded.pool_grid == (2, 2)
    with torch.no_grad():
        assert torch.allclose(model(x, y), loaded(x, y), atol=1e-2)


def test_a_factorisation_keeps_the_strongest_directions_of_a_full_rank_fc():
    torch.manual_seed(4)
    model = SiameseNet(pool_grid=(1, 1)).eval()
    weight = model.twin[-2].weight.detach()
    slim = factorised(model, 64)
    approx = slim.twin[-2].weight.detach() @ slim.twin[-3].weight.detach()
    best = torch.linalg.svdvals(weight)
    optimal = float(best[64:].square().sum().sqrt())  # Eckart-Young: no rank-64 map does better
    assert float((weight - approx).norm()) <= 1.05 * optimal
    with pytest.raises(ValueError, match="fc_rank"):
        factorised(model, 256)
    with pytest.raises(ValueError, match="already"):
        factorised(slim, 8)


def test_training_with_an_fc_rank_ships_the_factorised_model_and_resumes_the_whole_one(originals, tmp_path):
    config = TrainConfig(epochs=1, batch_size=24, lr=1e-3, seed=0, device="cpu", pool_grid=(2, 2), fc_rank=16)
    train(originals, tmp_path / "ship.pt", config, progress=False)
    shipped, meta, _ = load_checkpoint(tmp_path / "ship.pt")
    whole, _, _ = load_checkpoint(tmp_path / "ship.pt.resume")
    assert shipped.fc_rank == 16 and whole.fc_rank is None
    assert meta["config"]["fc_rank"] == 16
    assert sum(p.numel() for p in shipped.parameters()) < 0.5 * sum(p.numel() for p in whole.parameters())
    with pytest.raises(ValueError, match="fc_rank"):
        train(originals, tmp_path / "bad.pt", TrainConfig(epochs=1, fc_rank=4096), progress=False)

    # A finished run, resumed with another rank, is only written again: no epoch is trained.
    again = TrainConfig(epochs=1, batch_size=24, lr=1e-3, seed=0, device="cpu", pool_grid=(2, 2), fc_rank=8)
    result = train(
        originals,
        tmp_path / "r8.pt",
        again,
        resume=tmp_path / "ship.pt",
        progress=False,
        metadata={"command": "x"},
    )
    slim, slim_meta, _ = load_checkpoint(tmp_path / "r8.pt")
    assert slim.fc_rank == 8 and len(result.history) == 1
    assert slim_meta["epochs_done"] == 1 and slim_meta["exported_by"] == "x" and slim_meta["fc_rank"] == 8

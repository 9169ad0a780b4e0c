"""The seed's Siamese network (Koch et al. 2015 twin).

Twin conv stack on a ``1 x 125 x 105`` grayscale input: conv 64@10x10, max-pool 2, conv 128@7x7,
max-pool 2, conv 128@4x4, max-pool 2, conv 256@4x4, all ReLU; the last map into FC 4096 + sigmoid
features. The similarity is FC 1 + sigmoid of the L1 distance of the twins' features.

The map is average-pooled to ``pool_grid`` before the FC. The seed flattens the whole 8 x 6 map
(``SEED_POOL_GRID``; pooling to its own size changes nothing), which is what the shipped
checkpoint does; coarser grids shrink the FC (global pooling: 1 M weights instead of 50 M) but
lose where in the image each pattern sits, and with it most of the seed protocol's Top-1. The
shipped checkpoint keeps the seed's FC and stores it as a rank-128 factorisation
(:func:`factorised`): the seed protocol's figures are unchanged, and the file is 6.6 MB instead
of 103 MB in float16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

#: Features per twin after FC + sigmoid (the seed's 4096).
FEATURE_DIM = 4096
#: Rows x columns the last conv map is average-pooled to before the FC ((1, 1): global pooling).
POOL_GRID = (1, 1)
#: The seed's own FC input: the whole 8 x 6 map, flattened (pooling to 8 x 6 leaves it as it is).
SEED_POOL_GRID = (8, 6)
#: Rank of the shipped checkpoint's factorised FC (the seed protocol's figures are unchanged).
SHIPPED_FC_RANK = 128
CHECKPOINT_FORMAT = "copywatch-siamese-1"


class SiameseNet(nn.Module):
    """Koch-style twin network scoring how likely two images show the same original."""

    def __init__(
        self,
        feature_dim: int = FEATURE_DIM,
        pool_grid: tuple[int, int] = POOL_GRID,
        fc_rank: int | None = None,
    ) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.pool_grid = (int(pool_grid[0]), int(pool_grid[1]))
        self.fc_rank = None if fc_rank is None else int(fc_rank)
        pooled = 256 * self.pool_grid[0] * self.pool_grid[1]
        # The features' FC, whole or as two thin layers (rank x pooled, then feature_dim x rank).
        fc: list[nn.Module] = (
            [nn.Linear(pooled, feature_dim)]
            if self.fc_rank is None
            else [nn.Linear(pooled, self.fc_rank, bias=False), nn.Linear(self.fc_rank, feature_dim)]
        )
        self.twin = nn.Sequential(
            nn.Conv2d(1, 64, 10),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 7),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 128, 4),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 4),
            nn.ReLU(inplace=True),
            # Average-pool the 8 x 6 map to pool_grid (8 x 6, the seed's, leaves it as it is).
            nn.AdaptiveAvgPool2d(self.pool_grid),
            nn.Flatten(),
            *fc,
            nn.Sigmoid(),
        )
        self.head = nn.Linear(feature_dim, 1)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Twin features of a ``(N, 1, H, W)`` batch: ``(N, feature_dim)`` in (0, 1)."""
        return self.twin(images)

    def similarity(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Similarity in [0, 1] of paired feature rows (``(N, D)`` each, or broadcastable)."""
        return torch.sigmoid(self.logit(left, right))

    def logit(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid similarity of paired feature rows (for a numerically stable BCE)."""
        return self.head(torch.abs(left - right)).squeeze(-1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Similarity in [0, 1] of two ``(N, 1, H, W)`` image batches."""
        return self.similarity(self.embed(left), self.embed(right))


def check_fc_rank(rank: int, pool_grid: tuple[int, int], feature_dim: int = FEATURE_DIM) -> None:
    """Raise ValueError unless ``rank`` is below both sides of the FC a ``pool_grid`` network has."""
    largest = min(256 * pool_grid[0] * pool_grid[1], feature_dim) - 1
    if not 1 <= rank <= largest:
        raise ValueError(f"fc_rank must be between 1 and {largest}, got {rank}")


def factorised(model: SiameseNet, rank: int) -> SiameseNet:
    """A copy of ``model`` whose features' FC is its best rank-``rank`` approximation (truncated SVD).

    The convolutions and the similarity head are copied as they are. The SVD is randomised but
    seeded, and leaves torch's global random state untouched.
    """
    if model.fc_rank is not None:
        raise ValueError("the model's FC is factorised already")
    check_fc_rank(rank, model.pool_grid, model.feature_dim)
    fc = model.twin[-2]
    assert isinstance(fc, nn.Linear)
    weight = fc.weight.detach().float().cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        left, values, right = torch.svd_lowrank(weight, q=min(2 * rank, min(weight.shape)), niter=6)
    slim = SiameseNet(model.feature_dim, model.pool_grid, fc_rank=rank)
    # Everything before the FC sits at the same places in both twins; the head is the same too.
    slim.twin[:-3].load_state_dict(model.twin[:-2].state_dict())
    slim.head.load_state_dict(model.head.state_dict())
    low, high = slim.twin[-3], slim.twin[-2]
    assert isinstance(low, nn.Linear) and isinstance(high, nn.Linear)
    with torch.no_grad():
        low.weight.copy_((right[:, :rank] * values[:rank]).T)
        high.weight.copy_(left[:, :rank])
        high.bias.copy_(fc.bias)
    return slim.eval()


def save_checkpoint(
    path: str | Path,
    model: SiameseNet,
    metadata: dict[str, Any] | None = None,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    half: bool = False,
) -> None:
    """Write the model (and optionally the optimiser, for resuming) with metadata, atomically.

    Args:
        path: destination file.
        model: the network.
        metadata: JSON-like facts about the run (epochs, seed, metrics, command...).
        optimizer: include its state so training can resume exactly.
        half: store weights as float16 (the shipped checkpoint; halves the size).
    """
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "feature_dim": model.feature_dim,
        "pool_grid": list(model.pool_grid),
        "fc_rank": model.fc_rank,
        "state_dict": {k: v.detach().cpu() for k, v in state.items()},
        "metadata": dict(metadata or {}),
    }
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[SiameseNet, dict[str, Any], dict[str, Any] | None]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: checkpoint file.
        device: where to put the model.

    Returns:
        ``(model in eval mode as float32, metadata, optimizer state or None)``.
    """
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a copywatch Siamese checkpoint (format {payload.get('format')!r})")
    grid = payload.get("pool_grid", (1, 1))  # checkpoints before the grid option pooled globally
    rank = payload.get("fc_rank")
    model = SiameseNet(
        feature_dim=int(payload["feature_dim"]),
        pool_grid=(int(grid[0]), int(grid[1])),
        fc_rank=None if rank is None else int(rank),
    )
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    )
    model.to(device).eval()
    return model, payload.get("metadata", {}), payload.get("optimizer")


def default_checkpoint() -> Path:
    """The checkpoint shipped in the repository (trained on the dev catalog)."""
    return Path(__file__).resolve().parent / "models" / "siamese.pt"

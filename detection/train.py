"""Training of the seed's Siamese network on a folder of originals (the seed's recipe).

BCE on (original, stolen strip) pairs, half positive and half negative per epoch, Adam lr 3e-4, an
85 / 15 split of originals (the seed's 1700 / 300). Each epoch ends with a resumable checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detection.preprocess import preprocess_batch
from detection.siamese import (
    POOL_GRID,
    SiameseNet,
    check_fc_rank,
    factorised,
    load_checkpoint,
    save_checkpoint,
)
from detection.stolen import STRIPS_PER_ORIGINAL, PairBatch, epoch_pairs, stolen_strips

#: Arithmetic of the twin's convolutions during training (see ``TrainConfig.precision``).
PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """What the seed fixes (lr, loss) and what we may shorten (epochs, batch size)."""

    epochs: int = 150
    batch_size: int = 1024  # pairs per optimiser step (the seed's GPU batch)
    lr: float = 3e-4
    seed: int = 0
    test_fraction: float = 0.15
    device: str | None = None  # None: "cuda" when available, else "cpu"
    pool_grid: tuple[int, int] = POOL_GRID  # the last conv map pooled to this grid before the FC
    # "bf16": the twin's convolutions run in bfloat16 under autocast (weights, optimiser, FC head
    # and loss stay float32) — about 4x faster on CPUs with AMX and on recent GPUs.
    precision: str = "fp32"
    # Ship the features' FC as a rank-r factorisation (the .resume file keeps it whole).
    fc_rank: int | None = None


@dataclass
class EpochStats:
    """Loss and pair accuracy after one epoch."""

    epoch: int
    train_loss: float
    test_loss: float
    test_accuracy: float
    seconds: float


@dataclass
class TrainResult:
    """What :func:`train` did: the per-epoch history and the split it used."""

    history: list[EpochStats] = field(default_factory=list)
    train_ids: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)


def resolve_device(device: str | None) -> str:
    """``device`` if given, else ``"cuda"`` when torch sees a GPU and ``"cpu"`` otherwise."""
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def split_originals(ids: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of original ids into (train, test), ``test_fraction`` of them (at least 2) held out."""
    ordered = sorted(ids)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ordered))
    n_test = max(2, round(len(ordered) * test_fraction)) if len(ordered) >= 6 else 0
    test = sorted(ordered[i] for i in order[:n_test])
    train = sorted(ordered[i] for i in order[n_test:])
    return train, test


def pair_tensors(images: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Preprocessed originals ``(N, 1, H, W)`` and their strips ``(N, 3, 1, H, W)``."""
    originals = preprocess_batch(images)
    strips = torch.stack([preprocess_batch(stolen_strips(image)) for image in images])
    return originals, strips


def _embed(model: SiameseNet, images: torch.Tensor, device: str, precision: str) -> torch.Tensor:
    images = images.to(device).contiguous(memory_format=torch.channels_last)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        return model.embed(images).float()


def _batch_logits(
    model: SiameseNet,
    batch: PairBatch,
    originals: torch.Tensor,
    strips: torch.Tensor,
    device: str,
    precision: str = "fp32",
) -> torch.Tensor:
    # Each original and each strip goes through the twin once per batch, however many pairs use it.
    rows = np.unique(batch.originals)
    row_of = {int(r): i for i, r in enumerate(rows)}
    owners = np.unique(batch.strip_owners)
    owner_of = {int(r): i for i, r in enumerate(owners)}
    left = _embed(model, originals[rows], device, precision)
    right = _embed(model, strips[owners].flatten(0, 1), device, precision)
    left_idx = torch.tensor([row_of[int(r)] for r in batch.originals], device=device)
    right_idx = torch.tensor(
        [
            owner_of[int(o)] * STRIPS_PER_ORIGINAL + int(s)
            for o, s in zip(batch.strip_owners, batch.strip_numbers, strict=True)
        ],
        device=device,
    )
    return model.logit(left[left_idx], right[right_idx])


@torch.no_grad()
def evaluate_pairs(
    model: SiameseNet,
    originals: torch.Tensor,
    strips: torch.Tensor,
    seed: int,
    device: str,
    precision: str = "fp32",
) -> tuple[float, float]:
    """BCE loss and accuracy (threshold 0.5) on one fixed epoch of pairs of held-out originals."""
    if len(originals) < 2:
        return float("nan"), float("nan")
    model.eval()
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    total, correct, count = 0.0, 0, 0
    for batch in epoch_pairs(len(originals), 32, np.random.default_rng(seed)):
        logits = _batch_logits(model, batch, originals, strips, device, precision)
        labels = torch.from_numpy(batch.labels).to(device)
        total += float(loss_fn(logits, labels))
        correct += int(((logits > 0).float() == labels).sum())
        count += len(labels)
    return total / count, correct / count


def train(
    originals: dict[str, np.ndarray],
    out: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: str | Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[EpochStats], None] | None = None,
    metadata: dict[str, Any] | None = None,
) -> TrainResult:
    """Train the seed's Siamese network on ``originals`` and write a checkpoint to ``out``.

    ``out`` gets the small float16 model after every epoch (its FC factorised when
    ``config.fc_rank`` is set); ``out`` + ``.resume`` gets the float32 model with the optimiser
    state, which ``resume`` accepts to continue where a run stopped. Resuming a finished run only
    writes ``out`` again (e.g. with another ``fc_rank``).

    Args:
        originals: ``{original_id: BGR uint8 image}``; split 85 / 15 into train and test.
        out: checkpoint path.
        config: hyper-parameters (defaults: the seed's).
        resume: a ``.resume`` file (or the ``out`` it belongs to) to continue from.
        progress: show a tqdm bar per epoch.
        on_epoch: called with each epoch's statistics.
        metadata: extra facts stored in the checkpoint (e.g. the command line).

    Returns:
        :class:`TrainResult` with the history of every epoch (resumed ones included).
    """
    from detection.progress import progress_bar

    config = config or TrainConfig()
    if config.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {config.precision!r}")
    if config.fc_rank is not None:
        check_fc_rank(config.fc_rank, config.pool_grid)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    train_ids, test_ids = split_originals(list(originals), config.test_fraction, config.seed)
    train_orig, train_strips = pair_tensors([originals[i] for i in train_ids])
    test_orig, test_strips = pair_tensors([originals[i] for i in test_ids])

    # Module.to takes memory_format at run time; torch's overloads of it leave the keyword out.
    model = SiameseNet(pool_grid=config.pool_grid).to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    result = TrainResult(train_ids=train_ids, test_ids=test_ids)
    resumed_meta: dict[str, Any] = {}
    if resume is not None:
        resume = Path(resume)
        if resume.suffix != ".resume":
            resume = resume.with_name(resume.name + ".resume")
        loaded, resumed_meta, opt_state = load_checkpoint(resume, device)
        model.load_state_dict(loaded.state_dict())
        if opt_state is not None:
            optimizer.load_state_dict(opt_state)
        result.history = [EpochStats(**h) for h in resumed_meta.get("history", [])]
        if resumed_meta.get("train_ids") and resumed_meta["train_ids"] != train_ids:
            raise ValueError("resume checkpoint was trained on a different split of originals")

    loss_fn = nn.BCEWithLogitsLoss()
    pairs_per_original = 2 * STRIPS_PER_ORIGINAL
    originals_per_batch = max(2, config.batch_size // pairs_per_original)
    out = Path(out)
    first_epoch = len(result.history) + 1
    for epoch in range(first_epoch, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        # One generator per epoch: a resumed run draws the same pairs as an uninterrupted one.
        rng = np.random.default_rng([config.seed, epoch])
        batches = list(epoch_pairs(len(train_ids), originals_per_batch, rng))
        total, count = 0.0, 0
        bar = progress_bar(batches, desc=f"epoch {epoch}/{config.epochs}", enabled=progress, leave=False)
        for batch in bar:
            logits = _batch_logits(model, batch, train_orig, train_strips, device, config.precision)
            labels = torch.from_numpy(batch.labels).to(device)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
            bar.set_postfix(loss=f"{total / count:.4f}")
        test_loss, test_acc = evaluate_pairs(
            model, test_orig, test_strips, config.seed, device, config.precision
        )
        stats = EpochStats(epoch, total / count, test_loss, test_acc, time.perf_counter() - started)
        result.history.append(stats)
        meta = {
            **(metadata or {}),
            "config": asdict(config),
            "epochs_done": epoch,
            "history": [asdict(h) for h in result.history],
            "train_ids": train_ids,
            "test_ids": test_ids,
        }
        save_checkpoint(out.with_name(out.name + ".resume"), model, meta, optimizer=optimizer)
        _save_shipped(out, model, meta, config.fc_rank)
        if on_epoch is not None:
            on_epoch(stats)
    if resume is not None and first_epoch > config.epochs:
        # A finished run resumed: nothing to train, so write its checkpoint again (with this
        # config's fc_rank), keeping the run's own facts and noting the command that wrote it.
        meta = {**resumed_meta, "exported_by": (metadata or {}).get("command"), "fc_rank": config.fc_rank}
        _save_shipped(out, model, meta, config.fc_rank)
    return result


def _save_shipped(out: Path, model: SiameseNet, meta: dict[str, Any], fc_rank: int | None) -> None:
    """The small float16 checkpoint, its FC factorised to ``fc_rank`` when one is given."""
    save_checkpoint(out, model if fc_rank is None else factorised(model, fc_rank), meta, half=True)

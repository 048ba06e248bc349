"""The training loop the image learners share (classifier, detector, segmenter).

Shuffled mini-batches, AdamW under a one-cycle schedule, for as many epochs as show the
network about ``samples_seen`` samples (within bounds); seeded, on the threads the settings
give (Celery workers share the machine with the web processes: one unless told otherwise).
"""

import math
from collections.abc import Callable

import torch
from django.conf import settings
from torch import nn

from active_learning.learners.base import Heartbeat


def seeded(seed: int) -> torch.Generator:
    """Seed torch for a fit and set its threads; the generator that shuffles the batches."""
    torch.set_num_threads(int(getattr(settings, "ACTIVE_LEARNING_TORCH_THREADS", 1)))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit_batches(
    network: nn.Module,
    *,
    count: int,
    batch_size: int,
    samples_seen: int,
    epochs_between: tuple[int, int],
    learning_rate: float,
    weight_decay: float,
    generator: torch.Generator,
    heartbeat: Heartbeat,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
) -> None:
    """Train ``network`` on ``count`` samples; ``batch_loss(indices)`` is one batch's loss."""
    low, high = epochs_between
    epochs = min(high, max(low, math.ceil(samples_seen / max(count, 1))))
    steps = epochs * math.ceil(count / batch_size)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=steps
    )
    network.train()
    for _ in range(epochs):
        heartbeat()
        order = torch.randperm(count, generator=generator)
        for start in range(0, count, batch_size):
            pick = order[start : start + batch_size]
            if len(pick) < 2:  # batch norm needs two
                schedule.step()
                continue
            optimizer.zero_grad(set_to_none=True)
            batch_loss(pick).backward()
            optimizer.step()
            schedule.step()
    network.eval()

"""Fit a study into a time budget: measure this machine's training and inference speed, then pick epochs
(and, if needed, an image limit) so that every cell of the grid ends within the budget."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

# Seconds to fit one head per 1,000 training embeddings (fixed hyper-parameters, no search) on a 2-core CPU:
# a rough, conservative figure (SVM and XGBoost dominate); heads are not timed before the study.
HEAD_SECONDS_PER_1K_IMAGES = 4.0
MIN_EPOCHS = 3
MIN_LIMIT = 70  # TrainConfig.limit floor is 7 (one per class); a study cell below ~10 per class is meaningless


@dataclass(frozen=True)
class Throughput:
    """Images per second of a training step (forward + backward + update) and of inference, measured here."""

    train_images_per_second: float
    eval_images_per_second: float
    arch: str
    batch_size: int
    device: str


@dataclass(frozen=True)
class CellWorkload:
    """What one cell processes: split sizes before any limit, images embedded per epoch for k-NN, head count."""

    n_train: int
    n_val: int
    n_test: int
    knn_reference_images: int  # train images embedded each epoch to score val k-NN (triplet cells)
    n_heads: int


@dataclass(frozen=True)
class StudyPlan:
    """Epochs and image limit every cell uses, with the estimate that justified them."""

    epochs: int
    limit: int | None
    estimated_seconds_per_cell: float
    estimated_total_seconds: float
    budget_seconds: float | None
    throughput: Throughput | None
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def measure_throughput(
    arch: str, batch_size: int, input_size: int = 48, device: str = "cpu", steps: int = 2
) -> Throughput:
    """Time a short burst of real training steps and one inference batch of `arch` (random images)."""
    from fer_engine.models import create_model

    torch_device = torch.device(device)
    model = create_model(arch, input_size=input_size).to(torch_device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images = torch.rand(batch_size, 1, 48, 48, device=torch_device)
    labels = torch.arange(batch_size, device=torch_device) % 7
    model.train()

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up (allocations, kernel selection)
    _synchronize(torch_device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(torch_device)
    train_rate = steps * batch_size / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        model(images)
        _synchronize(torch_device)
        start = time.perf_counter()
        model(images)
        _synchronize(torch_device)
        eval_rate = batch_size / (time.perf_counter() - start)
    return Throughput(train_rate, eval_rate, arch, batch_size, str(torch_device))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def estimate_cell_seconds(workload: CellWorkload, throughput: Throughput, epochs: int, limit: int | None) -> float:
    """Seconds for one cell: epochs of training and validation, then embedding every split and fitting heads."""
    cap = limit if limit is not None else float("inf")
    n_train, n_val, n_test = (min(n, cap) for n in (workload.n_train, workload.n_val, workload.n_test))
    knn_reference = min(workload.knn_reference_images, n_train)
    per_epoch = (
        n_train / throughput.train_images_per_second + (n_val + knn_reference) / throughput.eval_images_per_second
    )
    after_training = (n_train + n_val + n_test) / throughput.eval_images_per_second
    heads = HEAD_SECONDS_PER_1K_IMAGES * workload.n_heads * n_train / 1000.0
    return epochs * per_epoch + after_training + heads


def plan_study(
    workload: CellWorkload,
    n_cells: int,
    throughput: Throughput,
    *,
    budget_seconds: float,
    max_epochs: int,
    epochs: int | None = None,
    limit: int | None = None,
) -> StudyPlan:
    """Largest epochs (up to `max_epochs`, or exactly `epochs`) and image limit that fit the budget.

    Epochs come first down to MIN_EPOCHS; below that, the per-split image limit shrinks instead.
    """
    per_cell_budget = budget_seconds / max(1, n_cells)

    def fits(e: int, cap: int | None) -> bool:
        return estimate_cell_seconds(workload, throughput, e, cap) <= per_cell_budget

    if epochs is not None:
        chosen_epochs, note = epochs, f"epochs fixed at {epochs}"
    else:
        chosen_epochs = max_epochs
        while chosen_epochs > MIN_EPOCHS and not fits(chosen_epochs, limit):
            chosen_epochs -= 1
        chosen_epochs = min(chosen_epochs, max_epochs)
        note = f"epochs sized to the budget (at most {max_epochs}, at least {min(MIN_EPOCHS, max_epochs)})"
    chosen_limit = limit
    if not fits(chosen_epochs, chosen_limit):
        chosen_limit = _largest_fitting_limit(workload, chosen_epochs, limit, fits)
        note += f"; images per split limited to {chosen_limit} to fit"
        if not fits(chosen_epochs, chosen_limit):
            note += " (still over budget at the smallest useful limit)"
    seconds = estimate_cell_seconds(workload, throughput, chosen_epochs, chosen_limit)
    return StudyPlan(chosen_epochs, chosen_limit, seconds, seconds * n_cells, budget_seconds, throughput, note)


def _largest_fitting_limit(workload: CellWorkload, epochs: int, limit: int | None, fits) -> int:
    high = min(limit or workload.n_train, workload.n_train)
    low = min(MIN_LIMIT, high)
    if not fits(epochs, low):
        return low
    while high - low > 1:  # binary search: cost grows with the limit
        middle = (low + high) // 2
        low, high = (middle, high) if fits(epochs, middle) else (low, middle)
    return high if fits(epochs, high) else low

"""A reusable training loop: mini-batch training of a model on labelled images, evaluated each
epoch, with a returned history. The command line and the examples use it."""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np

from . import functional as F
from .capture import capture
from .nn import Module
from .optim import Optimizer
from .tensor import Tensor, no_grad
from .threads import blas_threads, describe_threads, pick_threads


class TrainingError(RuntimeError):
    """Training diverged (the cost became NaN or infinite)."""


# the costs fit() and the command line train with, by name (the functions are F.*)
COSTS: dict[str, Callable[[Tensor, Any], Tensor]] = {
    "quadratic": F.quadratic_cost,
    "cross-entropy": F.nielsen_cross_entropy,
    "log-likelihood": F.log_likelihood,
}


@no_grad()
def outputs(model: Module, images: np.ndarray, batch_size: int = 1000,
            threads: int | None = None) -> np.ndarray:
    """The model's outputs for each row of images, in eval mode (no dropout), computed
    batch_size rows at a time. `threads`: BLAS threads (None: tinygrad_lite.threads.pick_threads
    chooses from the batch and the model's widths)."""
    if threads is None:
        threads = pick_threads(min(batch_size, len(images)), model)
    training = model.training
    model.eval()
    try:
        with blas_threads(threads):
            out = [model(Tensor(images[k:k + batch_size])).data
                   for k in range(0, len(images), batch_size)]
    finally:
        model.train(training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def predict(model: Module, images: np.ndarray, batch_size: int = 1000,
            threads: int | None = None) -> np.ndarray:
    """The most active output neuron for each row of images, in eval mode (see outputs)."""
    out = outputs(model, images, batch_size, threads)
    return out.argmax(axis=1) if len(out) else np.zeros(0, np.int64)


def evaluate(model: Module, images: np.ndarray, labels: np.ndarray,
             threads: int | None = None) -> int:
    """How many images the model classifies right (`threads` as in predict)."""
    return int((predict(model, images, threads=threads) == labels).sum())


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j]: how many examples of class i were predicted as class j."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(pred)), 1)
    return counts


def confusion_table(counts: np.ndarray) -> str:
    """The confusion matrix as text, rows the true class, columns the predicted one."""
    n = len(counts)
    lines = ["confusion matrix (rows: true class, columns: predicted)",
             "      " + "".join(f"{j:>6}" for j in range(n))]
    lines += [f"{i:>6}" + "".join(f"{c:>6}" for c in counts[i]) for i in range(n)]
    return "\n".join(lines)


def _check_fit(images: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int,
               cost: str, lr_decay: float) -> None:
    """ValueError for settings fit cannot run with."""
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {sorted(COSTS)}, got {cost!r}")
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {epochs} and {batch_size}")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (at least one), got {len(images)} "
                         f"images and {len(labels)} labels")


def _targets(model: Module, images: np.ndarray, labels: np.ndarray, test: Any, cost: str,
             batch_size: int, dtype: np.dtype) -> np.ndarray:
    """One-hot targets y(x) for the labels, one output neuron per class, after checking the
    labels' shape and that the cost fits the model's outputs on the first batch (computed in
    eval mode, so no dropout mask is drawn and a seeded run trains as it did)."""
    labels = np.asarray(labels)
    with no_grad():
        n_out = model(Tensor(images[:1])).shape[-1]
    if labels.shape != (len(images),):
        raise ValueError(f"fit: labels must be one class index per image, shape "
                         f"({len(images)},), got shape {labels.shape}{_labels_hint(labels)}")
    labels = F.class_labels(labels, n_out, "fit")
    if test is not None:
        F.class_labels(test[1], n_out, "fit (test labels)")
    check_cost(cost, _eval_outputs(model, images[:batch_size]))
    return F.one_hot(labels, n_out, dtype)


@no_grad()
def _eval_outputs(model: Module, x: np.ndarray) -> np.ndarray:
    """The model's outputs for x in eval mode, with the BLAS threads as they are."""
    training = model.training
    model.eval()
    try:
        return model(Tensor(x)).data
    finally:
        model.train(training)


def _labels_hint(labels: np.ndarray) -> str:
    if labels.ndim == 2 and labels.shape[1] > 1:
        return " (one-hot rows? fit makes the one-hot targets itself: pass labels.argmax(axis=1))"
    if labels.ndim == 2:
        return " (a column? pass labels.ravel())"
    return ""


def check_cost(cost: str, out: np.ndarray) -> None:
    """ValueError naming the cost that fits if `cost` cannot take these outputs of a model:
    Nielsen's cross-entropy needs outputs in [0, 1] (a sigmoid's), log-likelihood takes logits
    (rows that are already softmax probabilities would be softmaxed twice); none takes NaN."""
    lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("fit: the model's outputs on the first batch hold NaN or infinity "
                         "(check the images and the model's weights)")
    if cost == "cross-entropy" and (lo < 0 or hi > 1):
        raise ValueError(
            f"fit: cost='cross-entropy' is Nielsen's cost for sigmoid outputs in (0, 1) (it "
            f"takes ln a and ln(1 - a)), but the model's outputs range over [{lo:.3g}, "
            f"{hi:.3g}]: logits. Use cost='log-likelihood' (PyTorch's cross-entropy, for "
            "logits), or end the model in nn.Sigmoid()")
    rows = out.reshape(len(out), -1) if out.ndim >= 2 else None
    if (cost == "log-likelihood" and rows is not None and rows.shape[1] > 1 and lo >= 0
            and hi <= 1 and np.allclose(rows.sum(axis=1), 1, atol=1e-4)):
        raise ValueError(
            "fit: cost='log-likelihood' takes logits (it applies log_softmax itself), but each "
            "row of the model's outputs already sums to 1: probabilities (a softmax at the "
            "end?). Remove the final softmax, or use cost='quadratic' on the probabilities")


def training_step(model: Module, optimizer: Optimizer,
                  cost: str | Callable[[Tensor, Any], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """step(x, y): forward, cost (a name in COSTS or a function), zero_grad, backward,
    optimizer step; returns the cost. What fit runs (and captures)."""
    cost_fn = COSTS[cost] if isinstance(cost, str) else cost

    def train_step(x: Tensor, y: Tensor) -> Tensor:
        loss = cost_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return train_step


def _epoch(step: Callable, fast: Callable | None, images: np.ndarray, targets: np.ndarray,
           order: np.ndarray, batch_size: int, epoch: int,
           progress: Callable[[int, int, float], None] | None) -> float:
    """One pass in the given order: the mean training cost (TrainingError if not finite)."""
    start, total = time.perf_counter(), 0.0
    batches = -(-len(images) // batch_size)
    for batch, k in enumerate(range(0, len(images), batch_size)):
        idx = order[k:k + batch_size]
        x, y = images[idx], targets[idx]
        full = fast is not None and len(idx) == batch_size
        value = float((fast(x, y) if full else step(Tensor(x), Tensor(y))).data)
        if not math.isfinite(value):
            raise TrainingError(_diverged(value, epoch, batch, x))
        total += value * len(idx)
        if progress is not None:
            progress(batch + 1, batches, time.perf_counter() - start)
    return total / len(images)


def _diverged(value: float, epoch: int, batch: int, x: np.ndarray) -> str:
    """Why the cost stopped being finite, blaming the learning rate only after a step."""
    where = f"the cost became {value} at epoch {epoch}, batch {batch}"
    if not np.isfinite(x).all():
        return f"{where}: the batch's images hold NaN or infinity (check the data)"
    if epoch == 0 and batch == 0:
        return (f"{where}, before any step (so not the learning rate): the cost does not fit "
                "the model's outputs (see fit's costs), or the weights hold NaN")
    return f"{where}: try a smaller learning rate"


def _scored(model: Module, row: dict, test: Any, threads: int | None, batch_size: int) -> dict:
    """The epoch's row with the test score (correct, total, accuracy) if there is a test set."""
    if test is not None:
        correct = int((predict(model, test[0], batch_size, threads) == test[1]).sum())
        row.update(correct=correct, total=len(test[1]), accuracy=correct / len(test[1]))
    return row


def _epoch_line(row: dict) -> str:
    head = (f"Epoch {row['epoch']}: {row['correct']} / {row['total']}" if "correct" in row
            else f"Epoch {row['epoch']} complete")
    return f"{head}  cost {row['cost']:.4f}  {row['seconds']:.2f}s"


def fit(model: Module, images: np.ndarray, labels: np.ndarray, optimizer: Optimizer,
        epochs: int, batch_size: int, cost: str = "quadratic",
        test: tuple[np.ndarray, np.ndarray] | None = None, seed: Any = 0,
        use_capture: bool = True, log: Callable[[str], None] | None = print,
        threads: int | None = None, lr_decay: float = 1.0,
        progress: Callable[[int, int, float], None] | None = None,
        eval_batch_size: int = 1000) -> list[dict]:
    """Train for `epochs` passes over (images, labels) in shuffled mini-batches.

    `labels` are class indices, shape (N,); the targets y(x) are their one-hot rows. `cost`
    names one of COSTS, and what the model's outputs must be:

    - "quadratic": the seed's C = 1/(2n) Σ ||y - a||², for outputs of any kind (the seed's
      sigmoid outputs);
    - "cross-entropy": Nielsen's C = -1/n Σ [y ln a + (1 - y) ln(1 - a)], for sigmoid outputs
      in (0, 1) only;
    - "log-likelihood": C = -1/n Σ ln softmax(z)_y, for logits z (a last layer with no
      activation): PyTorch's cross_entropy.

    The first batch's outputs are checked against the cost (ValueError naming the cost that
    fits). Each batch: forward, cost, zero_grad, backward, optimizer step. With `use_capture`
    the step is captured on the first full batch and replayed after (bit-identical, faster; see
    tinygrad_lite.capture); a final smaller batch runs eagerly. After each epoch, logs the seed's
    "Epoch i: correct / total" with the mean training cost and seconds. Returns one dict per
    epoch: epoch, cost, correct, total, accuracy, seconds. Raises TrainingError naming the epoch
    and batch, and the likely cause, if the cost becomes NaN or infinite. `threads` limits
    numpy's BLAS threads (None: tinygrad_lite.threads.pick_threads chooses; the choice is logged
    once). `progress`, if given, is called after each batch with (batches done, batches in the
    epoch, seconds so far). After each epoch the optimizer's learning rate is multiplied by
    `lr_decay`. The test images are scored `eval_batch_size` at a time.
    """
    _check_fit(images, labels, epochs, batch_size, cost, lr_decay)
    dtype = optimizer.params[0].dtype
    images = images if images.dtype == dtype else images.astype(dtype)
    chosen = pick_threads(batch_size, model) if threads is None else threads
    with blas_threads(chosen):
        targets = _targets(model, images, labels, test, cost, batch_size, dtype)
    step = training_step(model, optimizer, cost)
    fast = capture(step) if use_capture else None
    if log is not None:
        log(describe_threads(chosen, auto=threads is None))
    rng, history = np.random.default_rng(seed), []
    # a cost that stops being finite is one TrainingError, not numpy's warnings before it
    with blas_threads(chosen), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for epoch in range(epochs):
            start = time.perf_counter()
            mean = _epoch(step, fast, images, targets, rng.permutation(len(images)), batch_size,
                          epoch, progress)
            optimizer.lr *= lr_decay  # read afresh by the captured step's replays
            row = {"epoch": epoch, "cost": mean, "seconds": time.perf_counter() - start}
            history.append(_scored(model, row, test, threads, eval_batch_size))
            if log is not None:
                log(_epoch_line(row))
    return history

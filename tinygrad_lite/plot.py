"""Pictures of a training run (needs matplotlib: pip install matplotlib).

matplotlib is imported when a picture is drawn, so paths can be checked (report_paths) and
`available()` asked without it."""
from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from .files import OutputError, write_file
from .nn import Module
from .train import predict

FORMATS = (".png", ".svg", ".pdf")


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        pyplot()
    except ImportError:
        return False
    return True


def pyplot() -> Any:
    """matplotlib.pyplot drawing to files only (the Agg backend); ImportError naming the extra
    to install if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("pictures need matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot
    return matplotlib.pyplot


def report_paths(path: str, model: Module | None = None) -> list[str]:
    """The files training_report writes for `model`: `path`, `STEM-misclassified.EXT` beside
    it, and `STEM-weights.EXT` if the model has a layer reading the square images (all three
    without a model). OutputError if `path` is not a .png, .svg or .pdf name."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in FORMATS:
        raise OutputError(f"{path}: plots are written as {', '.join(FORMATS)} files")
    paths = [path, f"{stem}-misclassified{ext}", f"{stem}-weights{ext}"]
    return paths if model is None or _first_layer(model) is not None else paths[:2]


def _first_layer(model: Module, n: int = 784) -> np.ndarray | None:
    """The weights of the first layer reading n = side² pixels, if the model has one."""
    if round(np.sqrt(n)) ** 2 != n:
        return None
    return next((p.data for _, p in model.named_parameters()
                 if p.ndim == 2 and p.shape[1] == n), None)


def _save(fig: Any, path: str, replace: bool = True) -> None:
    """Write the figure atomically (never half a file, never over a special file; with
    replace=False, never over any file, even one that appeared meanwhile)."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format=os.path.splitext(path)[1][1:].lower())
    pyplot().close(fig)
    write_file(path, lambda f: f.write(buf.getvalue()), replace=replace, error=OutputError)


def learning_curves(history: list[dict], path: str, replace: bool = True) -> None:
    """Test accuracy and mean training cost per epoch."""
    epochs = [r["epoch"] for r in history]
    from matplotlib.ticker import MaxNLocator
    fig, (ax1, ax2) = pyplot().subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [100 * r.get("accuracy", np.nan) for r in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="test accuracy (%)", title="Accuracy")
    ax2.plot(epochs, [r["cost"] for r in history], marker="o", color="tab:red")
    ax2.set(xlabel="epoch", ylabel="mean training cost", title="Cost", yscale="log")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    _save(fig, path, replace)


def misclassified(model: Module, images: np.ndarray, labels: np.ndarray, path: str,
                  count: int = 36, replace: bool = True, batch_size: int = 1000) -> None:
    """A grid of test digits the model gets wrong, titled 'true→predicted'."""
    pred = predict(model, images, batch_size)
    wrong = np.flatnonzero(pred != labels)[:count]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = pyplot().subplots(rows, cols, figsize=(cols * 1.4, rows * 1.6))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), wrong):
        side = int(round(np.sqrt(images[i].size)))
        ax.imshow(images[i].reshape(side, side), cmap="gray_r")
        ax.set_title(f"{labels[i]}→{pred[i]}", fontsize=9)
    total = int((pred != labels).sum())
    fig.suptitle(f"Misclassified test digits ({total} in all), true→predicted")
    fig.tight_layout()
    _save(fig, path, replace)


def hidden_weights(weight: np.ndarray, path: str, count: int = 30, replace: bool = True) -> None:
    """Each hidden neuron's incoming weights (a row of `weight`, n² pixels) as an n x n image."""
    w = weight[:count]
    side = int(round(np.sqrt(w.shape[1])))
    cols = 10
    rows = max(1, -(-len(w) // cols))
    fig, axes = pyplot().subplots(rows, cols, figsize=(cols * 1.2, rows * 1.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for j, (ax, row) in enumerate(zip(np.ravel(axes), w)):
        lim = np.abs(row).max() or 1
        ax.imshow(row.reshape(side, side), cmap="RdBu", vmin=-lim, vmax=lim)
        ax.set_title(str(j), fontsize=8)
    fig.suptitle("Hidden neurons' incoming weights (red negative, blue positive)")
    fig.tight_layout()
    _save(fig, path, replace)


def training_report(path: str, history: list[dict], model: Module, images: np.ndarray,
                    labels: np.ndarray, replace: bool = True, batch_size: int = 1000) -> list[str]:
    """Learning curves at `path`; beside it, misclassified images and the incoming weights of
    the first layer that reads the (square) images, if the model has one (see report_paths).
    replace=False: no file is written over an existing one (OutputError). `batch_size`: images
    per forward pass when finding the misclassified ones."""
    paths = report_paths(path, model)
    learning_curves(history, paths[0], replace)
    misclassified(model, images, labels, paths[1], replace=replace, batch_size=batch_size)
    if len(paths) > 2:
        hidden_weights(_first_layer(model), paths[2], replace=replace)
    return paths

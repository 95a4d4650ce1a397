"""Pictures of a training run (needs matplotlib: pip install 'tinygrad_lite[plot]')."""
from __future__ import annotations

import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .nn import Module, Linear  # noqa: E402
from .train import predict  # noqa: E402


def learning_curves(history: list[dict], path: str) -> None:
    """Test accuracy and mean training cost per epoch."""
    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [100 * r.get("accuracy", np.nan) for r in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="test accuracy (%)", title="Accuracy")
    ax2.plot(epochs, [r["cost"] for r in history], marker="o", color="tab:red")
    ax2.set(xlabel="epoch", ylabel="mean training cost", title="Cost", yscale="log")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def misclassified(model: Module, images: np.ndarray, labels: np.ndarray, path: str,
                  count: int = 36) -> None:
    """A grid of test digits the model gets wrong, titled 'true→predicted'."""
    pred = predict(model, images)
    wrong = np.flatnonzero(pred != labels)[:count]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.4, rows * 1.6))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), wrong):
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{labels[i]}→{pred[i]}", fontsize=9)
    total = int((pred != labels).sum())
    fig.suptitle(f"Misclassified test digits ({total} in all), true→predicted")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def hidden_weights(model: Module, path: str, count: int = 30) -> None:
    """Each hidden neuron's 784 incoming weights as a 28x28 image."""
    first = next(m for m in vars(model).values() if isinstance(m, Linear))
    w = first.weight.data[:count]
    cols = 10
    rows = max(1, -(-len(w) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for j, (ax, row) in enumerate(zip(np.ravel(axes), w)):
        lim = np.abs(row).max() or 1
        ax.imshow(row.reshape(28, 28), cmap="RdBu", vmin=-lim, vmax=lim)
        ax.set_title(str(j), fontsize=8)
    fig.suptitle("Hidden neurons' incoming weights (red negative, blue positive)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def training_report(path: str, history: list[dict], model: Module, images: np.ndarray,
                    labels: np.ndarray) -> list[str]:
    """Learning curves at `path`; misclassified digits and hidden weights beside it."""
    stem, ext = os.path.splitext(path)
    ext = ext or ".png"
    paths = [stem + ext, f"{stem}-misclassified{ext}", f"{stem}-weights{ext}"]
    learning_curves(history, paths[0])
    misclassified(model, images, labels, paths[1])
    if model.sizes[0] == 784:
        hidden_weights(model, paths[2])
    else:
        paths.pop()
    return paths

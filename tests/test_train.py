"""The training loop: learning, NaN detection, capture on and off giving the same run."""
import numpy as np
import pytest

from tinygrad_lite.models import DigitNet
from tinygrad_lite import optim
from tinygrad_lite.threads import current_threads, pick_threads
from tinygrad_lite.train import TrainingError, evaluate, fit


def blobs(n=200, seed=0):
    """Ten separable clusters in 20 dimensions, labels 0-9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    centres = rng.uniform(size=(10, 20))
    images = (centres[labels] + 0.05 * rng.normal(size=(n, 20))).astype(np.float32)
    return images, labels


def run(use_capture, cost="quadratic", n=200, batch_size=10):
    images, labels = blobs(n)
    model = DigitNet((20, 15, 10), seed=0)
    opt = optim.SGD(model.parameters(), lr=3.0, momentum=0.5)
    history = fit(model, images, labels, opt, epochs=4, batch_size=batch_size, cost=cost,
                  test=(images, labels), seed=1, use_capture=use_capture, log=None)
    return model, history


def test_learns_and_reports_history():
    model, history = run(True)
    assert [r["epoch"] for r in history] == [0, 1, 2, 3]
    assert history[-1]["cost"] < history[0]["cost"]
    assert history[-1]["correct"] >= 150 and history[-1]["total"] == 200
    untrained = DigitNet((20, 15, 10), seed=0)
    assert evaluate(untrained, *blobs()) < 150    # the floor above is one training must earn


def test_capture_and_eager_runs_are_identical():
    # 195 images in batches of 10: the last batch of 5 runs eagerly in the captured run (that
    # replay equals eager for each cost and optimizer is test_capture's property)
    a, ha = run(True, n=195)
    b, hb = run(False, n=195)
    assert [r["cost"] for r in ha] == [r["cost"] for r in hb]
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data)


def test_nan_cost_stops_with_epoch_and_batch():
    images, labels = blobs()
    images[17, 3] = np.nan
    model = DigitNet((20, 15, 10), seed=0)
    with pytest.raises(TrainingError, match=r"nan at epoch 0, batch \d+"):
        fit(model, images, labels, optim.SGD(model.parameters(), lr=1.0), epochs=1,
            batch_size=10, log=None)


def test_bad_arguments():
    images, labels = blobs()
    model = DigitNet((20, 15, 10), seed=0)
    opt = optim.SGD(model.parameters(), lr=1.0)
    with pytest.raises(ValueError, match="cost"):
        fit(model, images, labels, opt, epochs=1, batch_size=10, cost="hinge")
    with pytest.raises(ValueError, match="labels"):
        fit(model, images, labels[:5], opt, epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, images, labels, opt, epochs=-1, batch_size=10)


class ThreadSpy(DigitNet):
    """Records how many BLAS threads numpy may use each time it runs forward."""

    def forward(self, x):
        self.seen.append(current_threads())
        return super().forward(x)


def test_threads_rule_picks_one_thread_for_small_products_only():
    assert pick_threads(10, DigitNet((784, 30, 10))) == 1
    assert pick_threads(20, DigitNet((784, 300, 10))) == 1
    assert pick_threads(10000, DigitNet((784, 300, 10))) is None      # 2.4e9 multiply-adds


@pytest.mark.parametrize("threads", [None, 1, "default"])
def test_fit_limits_blas_threads_and_says_so_once(threads):
    images, labels = blobs()
    model = ThreadSpy((20, 15, 10), seed=0)
    model.seen, lines, before = [], [], current_threads()
    threads = before if threads == "default" else threads         # 2 on a 2-core machine
    fit(model, images, labels, optim.SGD(model.parameters(), lr=1.0), epochs=2, batch_size=10,
        test=(images, labels), log=lines.append, threads=threads)
    line = ("BLAS threads: 1 (auto; threads=N to change)" if threads is None
            else f"BLAS threads: {threads}")
    assert lines[0] == line and sum("BLAS" in s for s in lines) == 1
    assert model.seen and set(model.seen) == {threads or 1}       # training and evaluation
    assert current_threads() == before                            # restored afterwards
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        fit(model, images, labels, optim.SGD(model.parameters(), lr=1.0), epochs=1,
            batch_size=10, log=None, threads=0)

"""A learner's first network: a cost that does not fit the model's outputs, labels of the wrong
shape and a diverging run each stop with one message naming what fits; the Python API's hints
name Python arguments and the command line's name flags."""
import numpy as np
import pytest

import tinygrad_lite.functional as F
from helpers import data, in_tmp_folder, run  # noqa: F401 (fixtures)
from tinygrad_lite import Tensor, nn, optim
from tinygrad_lite.train import TrainingError, check_cost, fit


def blobs(n=100, seed=0):
    """Ten separable clusters in 20 dimensions, labels 0-9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    centres = rng.uniform(size=(10, 20))
    return (centres[labels] + 0.05 * rng.normal(size=(n, 20))).astype(np.float32), labels


def train(model, cost, labels=None, lr=0.1, **kw):
    images, default = blobs()
    lines = []
    fit(model, images, default if labels is None else labels,
        optim.SGD(model.parameters(), lr=lr), epochs=1, batch_size=10, cost=cost,
        log=lines.append, **kw)
    return lines


def logits_net():
    return nn.Sequential(nn.Linear(20, 16, rng=0), nn.ReLU(), nn.Linear(16, 10, rng=1))


def test_nielsens_cross_entropy_on_logits_names_log_likelihood():
    for lr in (0.1, 1e-9):                                     # not the learning rate's fault
        with pytest.raises(ValueError, match="cost='log-likelihood'") as info:
            train(logits_net(), "cross-entropy", lr=lr)
        assert "sigmoid outputs in (0, 1)" in str(info.value)
        assert "learning rate" not in str(info.value)


def test_the_costs_that_fit_train_without_complaint():
    assert train(logits_net(), "log-likelihood")[-1].startswith("Epoch 0")
    sigmoid = nn.Sequential(logits_net(), nn.Sigmoid())
    assert train(sigmoid, "cross-entropy")[-1].startswith("Epoch 0")
    assert train(logits_net(), "quadratic")[-1].startswith("Epoch 0")


def test_probabilities_given_to_log_likelihood_are_refused():
    with pytest.raises(ValueError, match="already sums to 1") as info:
        train(nn.Sequential(logits_net(), nn.Softmax(dim=1)), "log-likelihood")
    assert "Remove the final softmax" in str(info.value)
    train(nn.Sequential(logits_net(), nn.LogSoftmax(dim=1)), "log-likelihood")  # idempotent


def test_check_cost_can_fail_and_can_pass():
    check_cost("cross-entropy", np.array([[0.2, 0.9]]))
    check_cost("log-likelihood", np.array([[0.2, 0.9]]))              # sigmoid outputs: fine
    with pytest.raises(ValueError, match="log-likelihood"):
        check_cost("cross-entropy", np.array([[-0.5, 0.9]]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        check_cost("quadratic", np.array([[np.nan, 0.9]]))


@pytest.mark.parametrize("labels, hint", [
    (np.eye(10)[np.arange(100) % 10], "labels.argmax(axis=1)"),
    ((np.arange(100) % 10)[:, None], "labels.ravel()"),
])
def test_labels_of_the_wrong_shape_say_what_to_pass(labels, hint):
    with pytest.raises(ValueError, match=r"one class index per image, shape \(100,\)") as info:
        train(logits_net(), "log-likelihood", labels=labels)
    assert hint in str(info.value)


def test_the_losses_name_the_shape_that_fits():
    z = Tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"one-hot rows\? pass target.argmax\(axis=1\)"):
        F.cross_entropy(z, np.eye(3)[[0, 1, 2, 0]])
    for cost in (F.quadratic_cost, F.mse_loss):
        with pytest.raises(ValueError, match=r"pass F.one_hot\(target, 3\)"):
            cost(z, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError) as info:                        # no hint where none fits
        F.mse_loss(z, np.zeros((4, 2)))
    assert "one_hot" not in str(info.value)


def test_a_diverging_run_blames_the_learning_rate_without_numpy_warnings(recwarn):
    model = nn.Sequential(logits_net(), nn.Sigmoid())
    with pytest.raises(TrainingError, match=r"at epoch 0, batch [1-9]\d*: try a smaller learning"):
        train(model, "quadratic", lr=1e300)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_nan_in_the_images_blames_the_data_not_the_learning_rate():
    images, labels = blobs()
    images[57, 3] = np.nan
    model = logits_net()
    with pytest.raises(TrainingError, match="images hold NaN") as info:
        fit(model, images, labels, optim.SGD(model.parameters(), lr=0.1), epochs=1,
            batch_size=10, cost="log-likelihood", log=None)
    assert "learning rate" not in str(info.value)


def test_nan_before_any_step_does_not_blame_the_learning_rate(monkeypatch):
    from tinygrad_lite import train as module
    monkeypatch.setitem(module.COSTS, "quadratic", lambda a, y: (a - y).sum() * float("nan"))
    with pytest.raises(TrainingError, match="batch 0, before any step") as info:
        train(logits_net(), "quadratic", lr=1e-9)
    assert "smaller learning rate" not in str(info.value)


def test_python_hints_name_arguments_and_the_command_line_names_flags(capsys, data):
    line = train(logits_net(), "log-likelihood")[0]
    assert line == "BLAS threads: 1 (auto; threads=N to change)" and "--" not in line
    code, out, err = run(capsys, "train", "--data-dir", data, "--epochs", "1", "--hidden", "3",
                         "--no-save")
    assert code == 0 and "BLAS threads: 1 (auto; --threads to change)" in out
    assert "threads=N" not in out


def test_fit_docstring_lists_each_cost_and_what_it_expects():
    from tinygrad_lite.train import COSTS
    for cost in COSTS:
        assert f'"{cost}"' in fit.__doc__
    doc = " ".join(fit.__doc__.split())
    assert "for logits" in doc and "for sigmoid outputs in (0, 1) only" in doc


def test_a_file_in_the_way_says_replace_in_python_and_force_on_the_command_line(
        capsys, data, tmp_path):
    from tinygrad_lite import save
    from tinygrad_lite.serialization import CheckpointError
    (tmp_path / "mine.npz").write_bytes(b"keep me")
    with pytest.raises(CheckpointError, match="pass replace=True to replace it") as info:
        save({"w": np.zeros(2)}, tmp_path / "mine.npz", replace=False)
    assert "--force" not in str(info.value)
    code, out, err = run(capsys, "train", "--data-dir", data, "--epochs", "0", "--hidden", "3",
                         "--save", str(tmp_path / "mine.npz"))
    assert code == 1 and "pass --force to replace it" in err and "replace=True" not in err
    assert (tmp_path / "mine.npz").read_bytes() == b"keep me"

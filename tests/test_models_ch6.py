"""The chapter-6 networks and their registry: each builds, learns, checkpoints and rebuilds;
the expanded data; ensembles."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, optim
from tinygrad_lite.capture import capture
from tinygrad_lite.data import expand_mnist, load_mnist
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.chapter6 import ConvNet
from tinygrad_lite.models.zoo import (MODELS, build, ensemble, load_checkpoint, recipe,
                                      save_checkpoint)
from tinygrad_lite.train import COSTS, evaluate, fit


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_builds_learns_and_round_trips_its_state(name):
    model = build(name, dtype=np.float64, seed=0)
    x = Tensor(np.random.default_rng(0).random((3, 784)))
    y = np.eye(10)[[1, 2, 3]]
    out = model(x)
    assert out.shape == (3, 10)
    COSTS[recipe(name)["cost"]](out, y).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == type(model).num_parameters(
        **model.config())
    again = build(name, dtype=np.float64, seed=1)
    again.load_state_dict(model.state_dict())
    model.eval(), again.eval()
    np.testing.assert_array_equal(again(x).data, model(x).data)


def test_convnet_layers_and_names_read_like_the_book():
    net = ConvNet((20, 40), (100,), "relu", dropout=0.5)
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert shapes == {"features.0.weight": (20, 1, 5, 5), "features.0.bias": (20,),
                      "features.3.weight": (40, 20, 5, 5), "features.3.bias": (40,),
                      "classifier.1.weight": (100, 640), "classifier.1.bias": (100,),
                      "classifier.4.weight": (10, 100), "classifier.4.bias": (10,)}
    with pytest.raises(ValueError, match="dropout"):
        ConvNet(dropout=1.0)
    with pytest.raises(ValueError, match="activation"):
        ConvNet(activation="swish")
    with pytest.raises(ValueError, match="no pixels"):
        ConvNet(conv=(4, 4, 4))


def test_expanded_data_shifts_each_image_by_one_pixel():
    images = np.arange(1, 19, dtype=np.float32).reshape(2, 9)  # two 3x3 pictures
    big, labels = expand_mnist(images, np.array([7, 3]))
    assert big.shape == (10, 9) and labels.tolist() == [7, 3] * 5
    first = [big[k].reshape(3, 3).tolist() for k in range(0, 10, 2)]
    assert first == [[[1, 2, 3], [4, 5, 6], [7, 8, 9]],
                     [[4, 5, 6], [7, 8, 9], [0, 0, 0]],   # up
                     [[0, 0, 0], [1, 2, 3], [4, 5, 6]],   # down
                     [[2, 3, 0], [5, 6, 0], [8, 9, 0]],   # left
                     [[0, 1, 2], [0, 4, 5], [0, 7, 8]]]   # right
    np.testing.assert_array_equal(big[1], images[1])
    for bad in (np.zeros((2, 10)), np.zeros(9)):
        with pytest.raises(ValueError, match="square"):
            expand_mnist(bad, np.zeros(2))
    with pytest.raises(ValueError, match="one label per image"):
        expand_mnist(images, np.zeros(3))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_models_checkpoint_rebuilds_it(tmp_path, name):
    model = build(name, seed=0)
    path = str(tmp_path / f"{name}.npz")
    save_checkpoint(model, path, model=name, cost="log-likelihood")
    again, meta = load_checkpoint(path)
    assert type(again) is type(model) and again.config() == model.config()
    assert meta["model"] == name
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v)


def test_an_old_digitnet_checkpoint_still_loads(tmp_path):
    model = DigitNet((784, 5, 10), seed=0)
    path = tmp_path / "old.npz"
    tl.save(model.state_dict(), path, metadata={"format": "tinygrad_lite.DigitNet",
                                                "sizes": [784, 5, 10], "dtype": "float32"})
    again, _ = load_checkpoint(str(path))
    assert again.sizes == (784, 5, 10)
    np.testing.assert_array_equal(again[0].weight.data, model[0].weight.data)


@pytest.mark.parametrize("arch, message", [
    ({"class": "ResNet", "args": {}}, "no known model architecture"),
    ({"class": "ConvNet", "args": {"conv": [-1]}}, "positive ints"),
    ({"class": "ConvNet", "args": {"conv": [20], "hidden": [10**9]}}, "parameters"),
    ({"class": "ConvNet", "args": {"colour": True}}, "colour"),
    ("ConvNet", "no known model architecture"),
])
def test_a_corrupt_architecture_is_a_checkpoint_error_naming_the_file(tmp_path, arch, message):
    path = tmp_path / "bad.npz"
    tl.save(ConvNet(seed=0).state_dict(), path, metadata={"architecture": arch})
    with pytest.raises(tl.CheckpointError, match=f"bad.npz.*{message}"):
        load_checkpoint(str(path))


def test_ensemble_averages_and_can_beat_every_member():
    labels = np.array([0, 1, 2])
    a = np.array([[.9, .1, 0], [.6, .4, 0], [0, .4, .6]])    # wrong on row 1
    b = np.array([[.4, .6, 0], [0, .9, .1], [0, .4, .6]])    # wrong on row 0
    c = np.array([[.9, .1, 0], [0, .9, .1], [0, .6, .4]])    # wrong on row 2
    score = lambda out: int((out.argmax(axis=1) == labels).sum())  # noqa: E731
    assert [score(m) for m in (a, b, c)] == [2, 2, 2]
    assert score(ensemble([a, b, c])) == 3
    np.testing.assert_allclose(ensemble([a, a, a]), a)
    with pytest.raises(ValueError, match="one shape"):
        ensemble([a, a[:2]])


def test_dropout_draws_new_masks_when_a_captured_step_replays():
    tl.manual_seed(0)
    model = build("conv-dropout", dtype=np.float64, seed=0, hidden=[8])
    opt = optim.SGD(model.parameters(), lr=0.0)  # the weights stay put: only masks change
    x, y = np.random.default_rng(0).random((4, 784)), np.eye(10)[[0, 1, 2, 3]]

    def step(x, y):
        loss = COSTS["log-likelihood"](model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    fast = capture(step)
    losses = {float(fast(x, y).data) for _ in range(4)}
    assert len(losses) == 4


def test_a_captured_conv_step_matches_the_eager_one():
    def run(use_capture):
        model = build("conv-pool", dtype=np.float64, seed=0)
        opt = optim.Adam(model.parameters())
        x = np.random.default_rng(1).random((40, 784))
        fit(model, x, np.arange(40) % 10, opt, 1, 8, cost="log-likelihood",
            use_capture=use_capture, log=None)
        return model.state_dict()
    eager, captured = run(False), run(True)
    for k in eager:
        np.testing.assert_array_equal(captured[k], eager[k])


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def short_run(mnist, epochs):
    """conv (ReLU) trained on 3,000 images for `epochs` (0: untrained), scored on 1,000."""
    model = build("conv", seed=0)
    opt = optim.Adam(model.parameters(), lr=2e-3)
    fit(model, mnist.train_images[:3000], mnist.train_labels[:3000], opt, epochs, 32,
        cost="log-likelihood", log=None)
    return evaluate(model, mnist.test_images[:1000], mnist.test_labels[:1000])


def test_short_conv_training_clears_a_floor_an_untrained_net_cannot(mnist):
    assert short_run(mnist, 0) < 300
    assert short_run(mnist, 1) >= 800  # 896 measured; untrained: 57

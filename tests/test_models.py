"""The seed's network both ways: handwritten BP1-BP4 and autodiff give the same gradients,
the same SGD steps, and both match finite differences."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet, NeuralNetwork
from tinygrad_lite import Tensor, gradcheck, optim

sizes_st = st.lists(st.integers(1, 40), min_size=2, max_size=4)


def make_pair(sizes, seed, batch):
    rng = np.random.default_rng(seed)
    net = NeuralNetwork(sizes, seed=seed)
    model = DigitNet.from_network(net)
    X = rng.uniform(0, 1, (batch, sizes[0]))
    Y = F.one_hot(rng.integers(0, sizes[-1], batch), sizes[-1], np.float64)
    return net, model, X, Y


def autodiff_grads(model, X, Y):
    model.zero_grad()
    F.quadratic_cost(model(Tensor(X)), Y).backward()
    return [m.bias.grad for m in model.linears()], [m.weight.grad for m in model.linears()]


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@given(sizes=sizes_st, seed=st.integers(0, 2**16), batch=st.integers(1, 8))
def test_autodiff_equals_handwritten_backprop(sizes, seed, batch):
    net, model, X, Y = make_pair(sizes, seed, batch)
    gb, gw = autodiff_grads(model, X, Y)
    # per example, the seed's way: C = 1/(2n) Σ_x ||y - a||², so ∇C = mean of per-example nablas
    per_b, per_w = net.batch_gradients([(x[:, None], y[:, None]) for x, y in zip(X, Y)])
    mb, mw = net.backprop_batch(X, Y)      # matrix form: sums over the batch
    for l in range(len(gb)):
        close(gb[l], per_b[l].ravel() / batch)
        close(gw[l], per_w[l] / batch)
        close(mb[l], per_b[l])
        close(mw[l], per_w[l])


@settings(max_examples=10)
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4), seed=st.integers(0, 2**16))
def test_autodiff_of_the_network_matches_finite_differences(sizes, seed):
    # with the test above, the handwritten BP1-BP4 match finite differences too
    _, model, X, Y = make_pair(sizes, seed, batch=3)
    assert gradcheck(lambda *ps: F.quadratic_cost(model(Tensor(X)), Y), model.parameters())


def test_one_sgd_step_and_one_epoch_agree():
    net, model, X, Y = make_pair([20, 7, 4], seed=3, batch=30)
    opt = optim.SGD(model.parameters(), lr=3.0)
    order = np.random.default_rng(0).permutation(30)
    for k in range(0, 30, 10):     # one epoch, same batches, same order
        idx = order[k:k + 10]
        net.update_mini_batch([(X[i][:, None], Y[i][:, None]) for i in idx], 3.0)
        opt.zero_grad()
        F.quadratic_cost(model(Tensor(X[idx])), Y[idx]).backward()
        opt.step()
        for m, w, b in zip(model.linears(), net.weights, net.biases):
            np.testing.assert_allclose(m.weight.data, w, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(m.bias.data, b.ravel(), rtol=1e-9, atol=1e-12)


def test_matrix_step_equals_per_example_step():
    a, _, X, Y = make_pair([10, 6, 3], seed=5, batch=7)
    b = NeuralNetwork([10, 6, 3], seed=5)
    a.update_mini_batch([(x[:, None], y[:, None]) for x, y in zip(X, Y)], 0.5)
    b.update_mini_batch_matrix(X, Y, 0.5)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)


def test_learn_prints_the_seeds_lines(capsys):
    rng = np.random.default_rng(0)
    net = NeuralNetwork([4, 5, 3], seed=0)
    train = [(rng.uniform(size=(4, 1)), F.one_hot([i % 3], 3, np.float64).T) for i in range(20)]
    test = [(rng.uniform(size=(4, 1)), i % 3) for i in range(9)]
    net.learn(train, 2, 5, 1.0, test_data=test)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"Epoch \d: \d+ / 9", ln) for ln in lines)
    assert lines[0].startswith("Epoch 0:")
    net.learn(train, 1, 5, 1.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"
    guesses = [int(np.argmax(net.feedforward(x))) for x, _ in test]
    test = [(x, g if i < 4 else (g + 1) % 3) for i, ((x, _), g) in enumerate(zip(test, guesses))]
    assert net.evaluate(test) == 4                  # right exactly where the label is its guess
    assert net.evaluate([(x, F.one_hot([y], 3)[0]) for x, y in test]) == 4


def test_backprop_prints_nothing(capsys):
    net = NeuralNetwork([100, 50, 20, 10], seed=0)    # the seed's own example network
    nb, nw = net.backprop(np.ones((100, 1)), np.zeros((10, 1)))
    assert capsys.readouterr().out == ""
    assert [b.shape for b in nb] == [(50, 1), (20, 1), (10, 1)]
    assert [w.shape for w in nw] == [(50, 100), (20, 50), (10, 20)]


def test_conversions_round_trip_and_state_dict_names():
    net = NeuralNetwork([6, 4, 2], seed=1)
    model = DigitNet.from_network(net)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    back = model.to_network()
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).uniform(size=(3, 6))
    np.testing.assert_allclose(model(Tensor(x)).data, net.feedforward(x.T).T, rtol=1e-12)


def test_bad_sizes():
    with pytest.raises(ValueError):
        NeuralNetwork([784])
    with pytest.raises(ValueError):
        DigitNet((784,))

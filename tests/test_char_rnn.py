"""The handwritten RNN's backprop through time against central finite differences (float64)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite.models.char_rnn import NAMES, CharRNNHandwritten, softmax, train_steps


def finite_difference_error(model, inputs, targets, h0, grads, eps=1e-6):
    """The largest |g - (C(w + ε) - C(w - ε)) / 2ε| over every parameter entry, relative to
    max(1, |g|), with g from `grads`."""
    worst = 0.0
    for name in NAMES:
        w = model.params[name]
        for i in np.ndindex(w.shape):
            saved = w[i]
            w[i] = saved + eps
            up = model.loss_and_grads(inputs, targets, h0)[0]
            w[i] = saved - eps
            down = model.loss_and_grads(inputs, targets, h0)[0]
            w[i] = saved
            numeric = (up - down) / (2 * eps)
            worst = max(worst, abs(grads[name][i] - numeric) / max(1.0, abs(numeric)))
    return worst


def _case(vocab, hidden, batch, steps, seed):
    rng = np.random.default_rng(seed)
    model = CharRNNHandwritten(vocab, hidden, seed=seed)
    for w in model.params.values():  # larger than the initial 0.01 so tanh bends
        w[...] = rng.normal(0, 0.7, w.shape)
    inputs = rng.integers(0, vocab, (batch, steps))
    targets = rng.integers(0, vocab, (batch, steps))
    return model, inputs, targets, rng.normal(0, 0.5, (batch, hidden))


@settings(max_examples=15)
@given(vocab=st.integers(1, 5), hidden=st.integers(1, 4), batch=st.integers(1, 3),
       steps=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_bptt_equals_finite_differences(vocab, hidden, batch, steps, seed):
    model, inputs, targets, h0 = _case(vocab, hidden, batch, steps, seed)
    _, grads, _ = model.loss_and_grads(inputs, targets, h0)
    assert set(grads) == set(NAMES)
    assert all(grads[n].shape == model.params[n].shape for n in NAMES)
    assert finite_difference_error(model, inputs, targets, h0, grads) < 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_the_check_catches_a_slightly_wrong_gradient(name):
    model, inputs, targets, h0 = _case(4, 3, 2, 4, 0)
    _, grads, _ = model.loss_and_grads(inputs, targets, h0)
    grads[name].flat[0] += 1e-4
    assert finite_difference_error(model, inputs, targets, h0, grads) > 5e-5


def test_the_check_catches_backprop_that_stops_at_each_step():
    """The classic BPTT mistake: treat h_{t-1} as a constant (δʰ_{t+1} never reaches step t).
    Built from the public API: one-step gradients from the true states, summed."""
    model, inputs, targets, h0 = _case(4, 3, 2, 5, 1)
    hs, _ = model.forward(inputs, h0)
    T = inputs.shape[1]
    wrong = {n: np.zeros_like(w) for n, w in model.params.items()}
    for t in range(T):
        _, g, _ = model.loss_and_grads(inputs[:, t:t + 1], targets[:, t:t + 1], hs[t])
        for n in NAMES:
            wrong[n] += g[n] / T
    assert finite_difference_error(model, inputs, targets, h0, wrong) > 1e-3


def test_a_single_sequence_is_a_batch_of_one_and_the_last_state_is_returned():
    model, inputs, targets, h0 = _case(5, 4, 1, 6, 3)
    loss1, g1, h1 = model.loss_and_grads(inputs, targets, h0)
    loss2, g2, h2 = model.loss_and_grads(inputs[0], targets[0], h0[0])
    assert loss1 == loss2 and all(np.array_equal(g1[n], g2[n]) for n in NAMES)
    hs, logits = model.forward(inputs, h0)
    np.testing.assert_array_equal(h1, hs[-1])
    assert logits.shape == (1, 6, 5)
    p = softmax(logits)
    expected = -np.mean(np.log(p[0, np.arange(6), targets[0]]))
    assert loss1 == pytest.approx(expected, rel=1e-12)


def test_initial_loss_is_log_vocab_and_training_lowers_it():
    """Weights N(0, 0.01²) give near-uniform predictions: C ≈ ln V. Adagrad on a repeating text
    then learns it."""
    ids = np.array([0, 1, 2, 3, 2, 1] * 40)
    model = CharRNNHandwritten(4, 16, seed=0)
    losses = train_steps(model, ids, seq_length=12, steps=150)
    assert losses[0] == pytest.approx(np.log(4), abs=0.01)
    assert np.mean(losses[-10:]) < 0.1
    sample = model.sample(0, 12, rng=0)
    assert sample.tolist() == [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameter_names_shapes_and_dtype(dtype):
    model = CharRNNHandwritten(7, 5, seed=0, dtype=dtype)
    shapes = {n: w.shape for n, w in model.state_dict().items()}
    assert shapes == {"weight_ih": (5, 7), "weight_hh": (5, 5), "bias_ih": (5,),
                      "bias_hh": (5,), "head.weight": (7, 5), "head.bias": (7,)}
    assert all(w.dtype == dtype for w in model.params.values())
    _, grads, h = model.loss_and_grads([1, 2], [2, 3])
    assert h.dtype == dtype and all(g.dtype == dtype for g in grads.values())


@pytest.mark.parametrize("inputs,targets,message", [
    ([0, 7], [1, 2], "outside"), ([0.5, 1.0], [1, 2], "integer ids"), ([], [], "T >= 1"),
    ([0, 1], [1, 2, 3], "differ"),
])
def test_bad_ids_are_refused(inputs, targets, message):
    with pytest.raises(ValueError, match=message):
        CharRNNHandwritten(7, 3).loss_and_grads(np.array(inputs), np.array(targets))


def test_sampling_is_seeded_and_temperature_sharpens():
    model = CharRNNHandwritten(5, 4, seed=1)
    for w in model.params.values():
        w[...] = np.random.default_rng(2).normal(0, 1.0, w.shape)
    a, b = model.sample(0, 200, rng=7), model.sample(0, 200, rng=7)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() < 5
    cold = model.sample(0, 200, rng=7, temperature=0.05)
    assert len(set(cold.tolist())) <= len(set(a.tolist()))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(0, 3, temperature=0)


# --- the engine's CharRNN: the same network, gradients by autodiff -----------------------------

def _engine_pair(vocab, hidden, seed):
    from tinygrad_lite.models.char_rnn import CharRNN
    model, inputs, targets, _ = _case(vocab, hidden, 1, 1, seed)
    engine = CharRNN(vocab, hidden, dtype=np.float64, seed=seed)
    engine.load_state_dict(model.state_dict())
    return model, engine


@settings(max_examples=15)
@given(vocab=st.integers(1, 6), hidden=st.integers(1, 5), batch=st.integers(1, 3),
       steps=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_handwritten_bptt_equals_the_engines_gradients(vocab, hidden, batch, steps, seed):
    model, engine = _engine_pair(vocab, hidden, seed)
    rng = np.random.default_rng(seed + 1)
    inputs, targets = rng.integers(0, vocab, (batch, steps)), rng.integers(0, vocab, (batch, steps))
    loss, grads, _ = model.loss_and_grads(inputs, targets)
    logits, engine_loss = engine(inputs, targets)
    engine_loss.backward()
    np.testing.assert_allclose(logits.numpy(), model.forward(inputs)[1], rtol=1e-12, atol=1e-14)
    assert abs(engine_loss.item() - loss) < 1e-12
    params = dict(engine.named_parameters())
    assert sorted(params) == sorted(NAMES)
    for name in NAMES:  # one step never reads W_hh (h0 = 0): no gradient, the handwritten 0
        got = params[name].grad
        got = np.zeros_like(grads[name]) if got is None and steps == 1 else got
        np.testing.assert_allclose(got, grads[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_engine_comparison_can_fail():
    model, engine = _engine_pair(4, 3, 0)
    inputs = targets = np.array([[0, 1, 2, 3]])
    _, grads, _ = model.loss_and_grads(inputs, targets)
    engine.load_state_dict({"weight_hh": model.params["weight_hh"] * (1 + 1e-6)}, strict=False)
    engine(inputs, targets)[1].backward()
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(engine.weight_hh.grad, grads["weight_hh"], rtol=1e-10,
                                   atol=1e-12)


def test_engine_char_rnn_generates_and_round_trips_the_zoo(tmp_path):
    from tinygrad_lite.models import zoo
    from tinygrad_lite.models.char_rnn import CharRNN
    engine = CharRNN(5, 4, seed=0)
    a = engine.generate(np.array([[1, 2]]), 6, temperature=0.5, top_k=2, rng=1)
    assert a.shape == (1, 8) and np.array_equal(a, engine.generate([[1, 2]], 6, 0.5, 2, rng=1))
    zoo.save_checkpoint(engine, str(tmp_path / "r.npz"))
    back, _ = zoo.load_checkpoint(str(tmp_path / "r.npz"), CharRNN)
    assert back.config() == engine.config()
    np.testing.assert_array_equal(back.weight_hh.numpy(), engine.weight_hh.numpy())

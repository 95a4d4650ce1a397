"""Values and gradients against PyTorch in float64 (skipped when torch is not installed)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor

torch = pytest.importorskip(
    "torch", reason="torch is not installed: PyTorch parity tests skipped (pip install torch)")
TF = torch.nn.functional

SHAPES = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((4,), (3, 4)), ((3, 4), ())]

EXPRESSIONS = {
    "arith": lambda a, b, m: ((a * b - a / (b * b + 1)) + 2 * a - 1).sum(),
    "unary": lambda a, b, m: ((a.sigmoid() + b.tanh()) * (a * a + 1).log() + b.exp()).mean(),
    "relu_pow": lambda a, b, m: (((a - b).relu() + 1) ** 1.5).sum(),
    "softmax": lambda a, b, m: ((a * b).reshape(-1, m.shape[0]).log_softmax(dim=1)
                                * (a + b).softmax(dim=-1).reshape(-1, m.shape[0])).sum(),
    "matmul": lambda a, b, m: ((a + b).reshape(-1, m.shape[0]) @ m).sigmoid().sum(),
    "reductions": lambda a, b, m: ((a * b).mean(dim=-1, keepdim=True) * a
                                   - (a - b).sum(0) / 3).tanh().mean(),
    "shape_ops": lambda a, b, m: ((a + b).reshape(-1, m.shape[0]).T[1:, ::2] * 2
                                  ).clamp(min=-0.5, max=0.7).sum(),
    "powers": lambda a, b, m: (((a * a + 1) ** -1.5) + 2 ** (b * 0.3) + (a * a + 0.1).sqrt()).sum(),
}


def run(fn, arrays, lib):
    if lib == "torch":
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in arrays]
    else:
        ts = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    out = fn(*ts)
    out.backward()
    grads = [t.grad for t in ts]
    return out.detach().numpy(), [g.numpy() if lib == "torch" and g is not None else g
                                  for g in grads]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@given(shapes=st.sampled_from(SHAPES), seed=st.integers(0, 2**16))
def test_random_broadcasting_expressions(name, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shapes)
    full = np.broadcast_shapes(*shapes)
    m = rng.normal(size=(full[-1] if full else 1, 2))
    if not full:
        pytest.skip("scalar broadcast")
    v1, g1 = run(EXPRESSIONS[name], [a, b, m], "tl")
    v2, g2 = run(EXPRESSIONS[name], [a, b, m], "torch")
    np.testing.assert_allclose(v1, v2, rtol=1e-10, atol=1e-12)
    for x, y in zip(g1, g2):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["mse", "bce", "ce", "quadratic"])
def test_losses_match_torch(loss):
    rng = np.random.default_rng(3)
    p, y = rng.uniform(0.05, 0.95, (6, 4)), rng.uniform(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    ours, theirs = Tensor(p.copy(), requires_grad=True), torch.tensor(p, requires_grad=True)
    if loss == "mse":
        a, b = F.mse_loss(ours, y), TF.mse_loss(theirs, torch.tensor(y))
    elif loss == "bce":
        a, b = F.binary_cross_entropy(ours, y), TF.binary_cross_entropy(theirs, torch.tensor(y))
    elif loss == "ce":
        a, b = F.cross_entropy(ours, labels), TF.cross_entropy(theirs, torch.tensor(labels))
    else:  # the seed's 1/(2n) Σ ||y - a||², n rows
        a = F.quadratic_cost(ours, y)
        b = ((theirs - torch.tensor(y)) ** 2).sum() / (2 * len(p))
    a.backward()
    b.backward()
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-10)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


def torch_twin(model):
    """torch Sequential(Linear, Sigmoid, ...) loaded from a DigitNet's state_dict."""
    layers = []
    for n_in, n_out in zip(model.sizes[:-1], model.sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out).double(), torch.nn.Sigmoid()]
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return twin


@pytest.mark.parametrize("make_opts", [
    lambda p, q: (optim_mod().SGD(p, lr=0.5, momentum=0.9, weight_decay=1e-3),
                  torch.optim.SGD(q, lr=0.5, momentum=0.9, weight_decay=1e-3)),
    lambda p, q: (optim_mod().SGD(p, lr=0.5, momentum=0.8, nesterov=True),
                  torch.optim.SGD(q, lr=0.5, momentum=0.8, nesterov=True)),
    lambda p, q: (optim_mod().Adam(p, lr=0.01, weight_decay=1e-2),
                  torch.optim.Adam(q, lr=0.01, weight_decay=1e-2)),
])
def test_digitnet_training_steps_match_torch(make_opts):
    from tinygrad_lite.models import DigitNet
    model = DigitNet((784, 30, 10), dtype=np.float64, seed=0)
    twin = torch_twin(model)
    ours, theirs = make_opts(model.parameters(), list(twin.parameters()))
    rng = np.random.default_rng(0)
    for _ in range(4):
        X, Y = rng.uniform(size=(10, 784)), F.one_hot(rng.integers(0, 10, 10), 10, np.float64)
        ours.zero_grad()
        F.quadratic_cost(model(Tensor(X)), Y).backward()
        ours.step()
        theirs.zero_grad()
        (((twin(torch.from_numpy(X)) - torch.from_numpy(Y)) ** 2).sum() / 20).backward()
        theirs.step()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def optim_mod():
    from tinygrad_lite import optim
    return optim

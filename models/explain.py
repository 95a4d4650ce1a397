"""Backprop explained on the real network, and gradient checking as an experiment.

`explain_backprop` runs one example through the seed's equations BP1-BP4 and through the
autodiff engine, layer by layer, and reports both with their largest difference; the engine's δ
of each layer is read with retain_grad() on z.
`check_gradients` compares, for every parameter tensor of a digit network, autodiff with
central differences (every element, or random directions) and with the handwritten equations;
`check_second_derivatives` does the same for Hessian-vector products.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import GradcheckError, Tensor, nn, no_grad, numerical_grad
from tinygrad_lite.autograd import functional as AF
from tinygrad_lite.viz import Graph

from .digits import DigitNet
from .network import NeuralNetwork, sigmoid, sigmoid_prime


@dataclass
class LayerReport:
    """One layer l: z = w a + b, a = σ(z), δ = ∂C/∂z, and the two gradients both ways."""
    layer: int
    equation: str           # "BP1" for the output layer, "BP2" for hidden layers
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    grad_b: np.ndarray      # BP3, by hand
    grad_w: np.ndarray      # BP4, by hand
    autodiff_b: np.ndarray
    autodiff_w: np.ndarray
    autodiff_delta: np.ndarray  # z.grad, kept by z.retain_grad()

    @property
    def max_diff(self) -> float:
        return max(float(np.abs(self.grad_b - self.autodiff_b).max()),
                   float(np.abs(self.grad_w - self.autodiff_w).max()),
                   float(np.abs(self.delta - self.autodiff_delta).max()))


def explain_backprop(net: NeuralNetwork, x: np.ndarray, y: np.ndarray) -> list[LayerReport]:
    """BP1-BP4 for one example (x of shape (n_in,), y one-hot), next to autodiff's gradients of
    the same cost C_x = ½||y - a(x)||², computed on a DigitNet carrying net's weights."""
    x, y = np.asarray(x, np.float64).reshape(-1, 1), np.asarray(y, np.float64).reshape(-1, 1)
    zs, activations = [], [x]
    for w, b in zip(net.weights, net.biases):
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    model = DigitNet.from_network(net, dtype=np.float64)
    h, z_tensors = Tensor(x.T), []
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            h.retain_grad()  # z is not a leaf: keep its gradient δ = ∂C/∂z
            z_tensors.append(h)
    F.quadratic_cost(h, y.T).backward()   # n = 1 row: C = ½||y - a||²
    linears = model.linears()
    reports = []
    delta = (activations[-1] - y) * sigmoid_prime(zs[-1])                 # BP1
    for l in range(len(zs) - 1, -1, -1):
        if l < len(zs) - 1:
            delta = (net.weights[l + 1].T @ delta) * sigmoid_prime(zs[l])   # BP2
        reports.append(LayerReport(
            layer=l + 1, equation="BP1" if l == len(zs) - 1 else "BP2",
            z=zs[l].ravel(), a=activations[l + 1].ravel(), delta=delta.ravel(),
            grad_b=delta.ravel(),                                          # BP3
            grad_w=delta @ activations[l].T,                               # BP4
            autodiff_b=linears[l].bias.grad, autodiff_w=linears[l].weight.grad,
            autodiff_delta=z_tensors[l].grad.ravel()))
    return reports[::-1]


@dataclass
class ParamCheck:
    """Errors of autodiff for one parameter tensor."""
    name: str
    shape: tuple
    checked: str                          # "all N elements" or "K random directions"
    numeric_abs: float                    # max |autodiff - central difference|
    numeric_rel: float                    # ||autodiff - numeric|| / max(||autodiff||,
                                          #   ||numeric||, noise / tolerance)
    handwritten_abs: float                # max |autodiff - BP1-BP4 (matrix form)|
    handwritten_rel: float
    passed: bool = field(default=False)
    noise: float = 0.0                    # rounding error of the differences (see below)


def _rel(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    scale = max(np.linalg.norm(a), np.linalg.norm(b), floor)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


# dtype -> (eps, tolerance against differences, tolerance against the handwritten equations)
TOLERANCES = {"float64": (1e-6, 1e-6, 1e-12), "float32": (1e-2, 5e-2, 1e-5)}
# Rounding error of one computed cost, in units of machine epsilon times |C| (generous: a sum
# over a batch and a layer rounds at each step).
ROUNDING = 16


def _differences(cost: Any, p: Tensor, grad: np.ndarray, mode: str, eps: float,
                 directions: int, rng: np.random.Generator) -> tuple[Any, Any, str]:
    """(numeric, analytic, what was checked) for one parameter: central differences of every
    element (mode "full"), or of random unit directions u against ⟨∇C, u⟩ ("projection")."""
    if mode == "full":
        try:
            numeric = numerical_grad(cost, [p], eps)[0].reshape(-1)
        except GradcheckError:  # the cost is not finite near θ: the check fails
            numeric = np.full(grad.size, np.nan)
        return numeric, grad, f"all {grad.size} elements"
    numeric, analytic = np.empty(directions), np.empty(directions)
    orig = p.data.copy()
    try:
        for k in range(directions):
            u = rng.normal(size=p.shape)
            u /= np.linalg.norm(u)
            p.data[...] = orig + eps * u
            plus = float(cost().data)
            p.data[...] = orig - eps * u
            minus = float(cost().data)
            numeric[k], analytic[k] = (plus - minus) / (2 * eps), grad @ u.reshape(-1)
    finally:
        p.data[...] = orig
    return numeric, analytic, f"{directions} random directions"


def check_gradients(model: DigitNet, X: np.ndarray, Y: np.ndarray, mode: str = "full",
                    directions: int = 10, seed: int = 0) -> list[ParamCheck]:
    """For each parameter of `model` at inputs X (N, n_in), targets Y (N, n_out) and the
    quadratic cost: autodiff versus central differences (mode "full": every element;
    "projection": ⟨∇C, u⟩ against (C(θ + εu) - C(θ - εu)) / 2ε for random unit directions u)
    and versus the handwritten matrix-form BP1-BP4. Step ε and tolerances depend on the dtype
    (TOLERANCES): float32 differences are far coarser, which the experiment shows.

    A difference quotient carries rounding error of about ROUNDING ε_machine |C| / ε (`noise`),
    whatever the gradient's size: in a large network a random direction's derivative ⟨∇C, u⟩
    is small, so a purely relative test would fail a correct gradient. The relative error is
    therefore taken against max(‖autodiff‖, ‖numeric‖, √checks · noise / tolerance): errors
    within the differences' own precision pass, larger ones (a wrong backward) fail."""
    if mode not in ("full", "projection"):
        raise ValueError(f"mode must be 'full' or 'projection', got {mode!r}")
    dtype = model.linears()[0].weight.dtype
    eps, tol_numeric, tol_hand = TOLERANCES[np.dtype(dtype).name]
    X, Y = X.astype(dtype), Y.astype(dtype)
    model.zero_grad()
    loss = F.quadratic_cost(model(Tensor(X)), Y)
    loss.backward()
    noise = ROUNDING * float(np.finfo(dtype).eps) * max(abs(float(loss.data)), 1e-30) / eps
    hand_b, hand_w = model.to_network().backprop_batch(X, Y)
    hand = {}
    for i, (hb, hw) in enumerate(zip(hand_b, hand_w)):
        hand[f"{2 * i}.weight"], hand[f"{2 * i}.bias"] = hw / len(X), hb.ravel() / len(X)

    @no_grad()
    def cost(*_: Any) -> Tensor:
        return F.quadratic_cost(model(Tensor(X)), Y)

    rng = np.random.default_rng(seed)
    results = []
    for name, p in model.named_parameters():
        grad = p.grad.reshape(-1).astype(np.float64)
        numeric, analytic, checked = _differences(cost, p, grad, mode, eps, directions, rng)
        h = hand[name].reshape(-1).astype(np.float64)
        floor = np.sqrt(numeric.size) * noise / tol_numeric
        check = ParamCheck(name, p.shape, checked,
                           float(np.abs(analytic - numeric).max()),
                           _rel(analytic, numeric, floor),
                           float(np.abs(grad - h).max()), _rel(grad, h), noise=noise)
        check.passed = (bool(np.all(np.isfinite(numeric)) and np.all(np.isfinite(grad)))
                        and check.numeric_rel <= tol_numeric and check.handwritten_rel <= tol_hand)
        results.append(check)
    return results


@dataclass
class SecondCheck:
    """Hessian-vector products of the cost for one parameter tensor, three ways."""
    name: str
    shape: tuple
    checked: str
    numeric_rel: float    # forward-over-reverse Hv vs central differences of the gradient
    modes_rel: float      # forward-over-reverse Hv vs reverse-over-reverse vᵀH
    passed: bool = False


SECOND_TOLERANCE = 1e-6  # vs differences of gradients (float64, eps 1e-5); modes: 1e-10


def check_second_derivatives(model: DigitNet, X: np.ndarray, Y: np.ndarray,
                             directions: int = 3, seed: int = 0) -> list[SecondCheck]:
    """Second derivatives of the quadratic cost of a float64 digit network: for random unit
    directions v over all parameters θ, the Hessian-vector product H v by forward mode over
    the reverse sweep (autograd.functional.hvp), against vᵀH by reverse mode twice (vhp; H is
    symmetric) and against (∇C(θ + εv) - ∇C(θ - εv)) / 2ε, block by parameter tensor."""
    params = [p for _, p in model.named_parameters()]
    if params[0].dtype != np.float64:
        raise ValueError("check_second_derivatives: second derivatives are checked in float64")
    x, y = Tensor(X.astype(np.float64)), Tensor(Y.astype(np.float64))

    def cost(*ps: Tensor) -> Tensor:
        h = x
        for w, b in zip(ps[::2], ps[1::2]):
            h = F.linear(h, w, b).sigmoid()
        return F.quadratic_cost(h, y)

    def gradient(ps: list) -> list:
        ts = [Tensor(p, requires_grad=True) for p in ps]
        cost(*ts).backward()
        return [t.grad for t in ts]

    theta = [p.data.copy() for p in params]
    rng, eps = np.random.default_rng(seed), 1e-5
    worst_num, worst_modes = np.zeros(len(params)), np.zeros(len(params))
    for _ in range(directions):
        v = [rng.normal(size=p.shape) for p in theta]
        norm = np.sqrt(sum(float((u * u).sum()) for u in v))
        v = [u / norm for u in v]
        _, hv = AF.hvp(cost, tuple(Tensor(p) for p in theta), tuple(v))
        _, vh = AF.vhp(cost, tuple(Tensor(p) for p in theta), tuple(v))
        plus = gradient([p + eps * u for p, u in zip(theta, v)])
        minus = gradient([p - eps * u for p, u in zip(theta, v)])
        for i, (a, b, gp, gm) in enumerate(zip(hv, vh, plus, minus)):
            numeric = (gp - gm) / (2 * eps)
            worst_num[i] = max(worst_num[i], _rel(a.numpy(), numeric, 1e-8))
            worst_modes[i] = max(worst_modes[i], _rel(a.numpy(), b.numpy(), 1e-8))
    results = []
    for (name, p), n, m in zip(model.named_parameters(), worst_num, worst_modes):
        results.append(SecondCheck(name, p.shape, f"{directions} random directions", float(n),
                                   float(m), bool(n <= SECOND_TOLERANCE and m <= 1e-10)))
    return results


def second_derivatives_report(results: list[SecondCheck]) -> str:
    """The table `tinygrad-lite gradcheck --order 2` prints."""
    lines = [f"{'parameter':<10}{'shape':>12}  {'checked':<22}{'Hv vs differences':>19}"
             f"{'Hv vs vH':>11}"]
    for r in results:
        lines.append(f"{r.name:<10}{str(r.shape):>12}  {r.checked:<22}{r.numeric_rel:>19.2e}"
                     f"{r.modes_rel:>11.2e}  {'ok' if r.passed else 'FAIL'}")
    lines.append("(Hv: forward mode over the reverse sweep; vH: reverse mode twice; differences: "
                 f"(∇C(θ+εv) - ∇C(θ-εv)) / 2ε with ε = 1e-5; pass: relative error <= "
                 f"{SECOND_TOLERANCE:g} vs differences, <= 1e-10 between the modes)")
    return "\n".join(lines)


def example(images: np.ndarray, labels: np.ndarray, index: int) -> tuple[Any, Any]:
    """Test image `index` and its one-hot label."""
    if not 0 <= index < len(images):
        raise IndexError(f"--index must be in [0, {len(images)}), got {index}")
    return images[index], F.one_hot([labels[index]], 10, np.float64)[0]


def _summary(v: np.ndarray) -> str:
    return f"min {v.min():+.3e}  mean {v.mean():+.3e}  max {v.max():+.3e}"


def explain_report(net: NeuralNetwork, x: np.ndarray, y: np.ndarray,
                   title: str) -> tuple[str, bool]:
    """The text `tinygrad-lite explain` prints: BP1-BP4 layer by layer (output layer first, as
    backprop visits them) beside autodiff, and whether the two agree to float64 rounding."""
    reports = explain_backprop(net, x, y)
    out = reports[-1].a
    lines = [f"{title}. Network {'-'.join(map(str, net.sizes))}. Cost C = ½||y - a||².",
             f"Prediction: {int(out.argmax())} (output a = "
             + " ".join(f"{v:.3f}" for v in out) + ")", ""]
    for r in reversed(reports):
        kind = "output layer" if r.equation == "BP1" else "hidden layer"
        lines.append(f"layer {r.layer} ({kind}, {r.grad_w.shape[1]} -> {r.grad_w.shape[0]})")
        formula = "(a - y) ⊙ σ'(z)" if r.equation == "BP1" else "(wᵀ δ_next) ⊙ σ'(z)"
        rows = [("z = w a + b", _summary(r.z), ""), ("a = σ(z)", _summary(r.a), ""),
                (f"δ = {formula}", _summary(r.delta), r.equation),
                ("δ = z.grad (retain_grad)", "max |hand - autodiff| = "
                 f"{np.abs(r.delta - r.autodiff_delta).max():.2e}", r.equation),
                ("∂C/∂b = δ", "max |hand - autodiff| = "
                 f"{np.abs(r.grad_b - r.autodiff_b).max():.2e}", "BP3"),
                ("∂C/∂w = δ aᵀ", "max |hand - autodiff| = "
                 f"{np.abs(r.grad_w - r.autodiff_w).max():.2e}", "BP4")]
        for label, value, tag in rows:
            lines.append(f"  {label:<26}{value:<58}{'[' + tag + ']' if tag else ''}".rstrip())
    worst = max(r.max_diff for r in reports)
    scale = max(max(np.abs(r.grad_w).max(), np.abs(r.grad_b).max()) for r in reports)
    ok = bool(worst <= 1e-9 * max(scale, 1.0))
    lines.append("")
    lines.append(f"Largest difference {worst:.2e}: BP1-BP4 and the autodiff engine agree to "
                 "float64 rounding." if ok else
                 f"MISMATCH: the handwritten equations and autodiff differ by up to {worst:.3e}")
    return "\n".join(lines), ok


def gradcheck_report(results: list[ParamCheck], dtype: str) -> str:
    """The table `tinygrad-lite gradcheck` prints for check_gradients' results."""
    lines = [f"{'parameter':<10}{'shape':>12}  {'checked':<22}{'max abs err':>12}{'rel err':>10}"
             f"{'rel err vs BP1-4':>18}"]
    for r in results:
        lines.append(f"{r.name:<10}{str(r.shape):>12}  {r.checked:<22}{r.numeric_abs:>12.2e}"
                     f"{r.numeric_rel:>10.2e}{r.handwritten_rel:>18.2e}  "
                     f"{'ok' if r.passed else 'FAIL'}")
    eps, tol_n, tol_h = TOLERANCES[dtype]
    lines.append(f"(central differences with eps {eps:g}; pass: rel err <= {tol_n:g} vs "
                 f"differences, <= {tol_h:g} vs the handwritten equations)")
    return "\n".join(lines)


def cost_tensors(model: DigitNet, X: np.ndarray, Y: np.ndarray) -> tuple[Tensor, dict]:
    """The quadratic cost of one mini-batch (its graph kept) and the names of its tensors."""
    x, y = Tensor(X.astype(model.linears()[0].weight.dtype)), Tensor(Y)
    cost = F.quadratic_cost(model(x), y)
    return cost, dict(model.named_parameters(), **{"x (images)": x, "y (targets)": y,
                                                   "cost C": cost})


def cost_graph(model: DigitNet, X: np.ndarray, Y: np.ndarray) -> Graph:
    """The quadratic cost's graph for one mini-batch, with gradient norms: .to_dot() for its
    DOT text, .draw() for a matplotlib picture."""
    cost, names = cost_tensors(model, X, Y)
    cost.backward(retain_graph=True)
    return Graph.of(cost, params=names)

"""Capture's compiler: each pass alone, and the compiled replay bit-identical to the eager step."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, capture, compiler, nn, optim
from tinygrad_lite.models import DigitNet
from tinygrad_lite.ops import Affine, Sigmoid
from tinygrad_lite.train import training_step

from autograd_ops import OPS, Ours, inputs_for


def same_bits(a, b) -> bool:
    """Bit for bit: the same dtype, shape and bytes (so -0.0 differs from 0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def run_both(build, make_opt, cost, X, Y, batch, steps):
    """Train two copies, eagerly and captured; assert losses, parameters and grads agree."""
    models = build(), build()
    opts = [make_opt(m.parameters()) for m in models]

    eager = training_step(models[0], opts[0], cost)
    fast = capture(training_step(models[1], opts[1], cost))
    for k in range(steps):
        x, y = X[k * batch:(k + 1) * batch], Y[k * batch:(k + 1) * batch]
        assert same_bits(eager(Tensor(x), Tensor(y)).numpy(), fast(x, y).numpy()), k
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        assert same_bits(p.data, q.data) and same_bits(p.grad, q.grad)
    return fast


def test_seed_network_replay_is_bit_identical():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 784)).astype(np.float32)
    Y = F.one_hot(rng.integers(0, 10, 60), 10, np.float32)
    fast = run_both(lambda: DigitNet((784, 30, 10), seed=0), lambda p: optim.SGD(p, lr=3.0),
                    F.quadratic_cost, X, Y, 10, 6)
    assert "#   lower 10 " in fast.source and "Affine" not in fast.source


def test_conv_net_replay_is_bit_identical():
    from tinygrad_lite.models.zoo import build
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(8, 784)).astype(np.float32)
    Y = F.one_hot(rng.integers(0, 10, 8), 10, np.float32)
    run_both(lambda: build("conv-pool", seed=0), lambda p: optim.SGD(p, lr=0.1),
             F.mse_loss, X, Y, 4, 2)


ACTS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
COSTS = {"quadratic": F.quadratic_cost, "mse": F.mse_loss}


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       acts=st.lists(st.sampled_from(sorted(ACTS)), min_size=3, max_size=3),
       cost=st.sampled_from(sorted(COSTS)), batch=st.integers(1, 4),
       momentum=st.sampled_from([0.0, 0.9]), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_random_graphs_replay_bit_identically(sizes, acts, cost, batch, momentum, dtype, seed):
    def build():
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers += [nn.Linear(a, b, dtype=dtype, rng=seed + i), ACTS[acts[i]]()]
        return nn.Sequential(*layers)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * batch, sizes[0])).astype(dtype)
    Y = rng.uniform(size=(3 * batch, sizes[-1])).astype(dtype)
    run_both(build, lambda p: optim.SGD(p, lr=0.5, momentum=momentum), COSTS[cost],
             X, Y, batch, 3)


MADE: dict = {}


def _made_once(a):
    """A constant array as a Tensor made once, on first use (outside the step), as a step
    would keep it."""
    a = np.asarray(a)
    key = (a.tobytes(), a.shape, a.dtype.str)
    if key not in MADE:
        MADE[key] = Tensor(a)
    return MADE[key]


class Made(Ours):
    const = staticmethod(_made_once)


def _op_step(name, seed):
    """Op `name` of tests/autograd_ops.py as a training step of its inputs (the parameters):
    C = Σ r ⊙ f(params) for the step's input r, backward, SGD with momentum."""
    params = [Tensor(a.copy(), requires_grad=True) for a in inputs_for(name, seed)]
    opt = optim.SGD(params, lr=0.01, momentum=0.9)

    def step(r):
        loss = (OPS[name][1](Made, *params) * r).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return params, step


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_every_op_in_a_captured_step_replays_bit_identically(name, seed):
    eager_params, eager = _op_step(name, seed)
    fast_params, step = _op_step(name, seed)
    fast = capture(step)
    shape = OPS[name][1](Made, *[Tensor(a) for a in inputs_for(name, seed)]).shape
    rng = np.random.default_rng(seed + 1)
    with np.errstate(all="ignore"):  # a step may leave an op's domain: alike in both
        for k in range(4):
            r = rng.standard_normal(shape)
            assert same_bits(eager(Tensor(r)).numpy(), fast(r).numpy()), (name, k)
    assert fast.captures == 1
    for p, q in zip(eager_params, fast_params):
        assert same_bits(p.numpy(), q.numpy()) and same_bits(p.grad, q.grad)


# --- each pass alone -------------------------------------------------------------------------

def affine_call(rng):
    x, w, b = (rng.normal(size=s).astype(np.float32) for s in ((3, 4), (2, 4), (2,)))
    return (Affine.forward, (x, w, b), {}, Affine.forward(x, w, b))


def run(prog):
    """Execute a program directly, writing into its buffers; the last call's result."""
    value = {}
    for ins in prog:
        args = [value.get(id(a), a) for a in ins.args]
        into = {} if ins.into is None else {"out": ins.into}
        with np.errstate(over="ignore"):
            out = ins.fn(*args, **into, **ins.params)
        value[id(ins.out)] = out
    return out


def test_lower_expands_kernels_into_the_same_numpy_calls():
    rng = np.random.default_rng(0)
    call = affine_call(rng)
    x = call[3]
    calls = [call, (Sigmoid.forward, (x,), {}, Sigmoid.forward(x))]
    prog, count = compiler.lower(compiler.from_calls(calls))
    assert count == 2
    assert [i.fn for i in prog] == [np.transpose, np.matmul, np.add, np.negative,
                                    compiler.quiet_exp, np.add, np.true_divide]
    assert same_bits(run(prog), calls[1][3])


def test_fold_takes_views_of_parameters_once():
    rng = np.random.default_rng(0)
    prog, _ = compiler.lower(compiler.from_calls([affine_call(rng)]))
    folded, count = compiler.fold_views(prog, [prog[1].args[0]])
    assert count == 1 and [i.fn for i in folded] == [np.matmul, np.add]
    kept, count = compiler.fold_views(prog, [prog[0].args[0]])  # W an input: kept
    assert count == 0 and kept[0].fn is np.transpose


def test_common_computes_a_repeated_call_once():
    a, y = np.ones(3), np.zeros(3)
    d1, d2 = a - y, a - y
    prog = compiler.from_calls([(np.subtract, (a, y), {}, d1), (np.subtract, (a, y), {}, d2),
                                (np.multiply, (d2, 2.0), {}, d2 * 2)])
    new, count = compiler.eliminate_common(prog, [a, y])
    assert count == 1 and len(new) == 2 and new[1].args[0] is d1


def test_common_stops_at_a_call_that_may_change_an_argument():
    w, y = np.ones(3), np.zeros(3)

    def update(arr):  # a side effect: changes w in place
        arr -= 1
    prog = compiler.from_calls([(np.subtract, (w, y), {}, w - y), (update, (w,), {}, None),
                                (np.subtract, (w, y), {}, w - y)])
    new, count = compiler.eliminate_common(prog, [y])
    assert count == 0 and len(new) == 3


def test_dead_drops_unread_pure_calls_and_keeps_side_effects():
    a = np.ones(3)
    unused, used, log = a + 1, a * 2, []
    prog = compiler.from_calls([(np.add, (a, 1), {}, unused), (np.multiply, (a, 2), {}, used),
                                (log.append, (a,), {}, None)])
    new, count = compiler.eliminate_dead(prog, [used])
    assert count == 1 and [i.fn for i in new] == [np.multiply, log.append]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("number", [1, 0.1, 1e-45, 3e38, np.float64(0.1), np.float32(0.1), True])
def test_scalars_become_arrays_of_the_calls_dtype_with_the_same_bits(dtype, number):
    a = np.random.default_rng(0).normal(size=7).astype(dtype)
    with np.errstate(all="ignore"):  # 3e38 overflows float16, alike in both
        calls = [(f, args, {}, f(*args)) for f, args in
                 [(np.add, (number, a)), (np.subtract, (a, number)),
                  (np.multiply, (number, a)), (np.true_divide, (number, a))]]
        new, count = compiler.scalars_to_arrays(compiler.from_calls(calls))
        assert count == 4
        for ins, (_, _, _, eager) in zip(new, calls):
            assert same_bits(ins.fn(*ins.args), eager), (ins.fn, number, dtype)


def test_scalars_leave_computed_numbers_and_integer_results_alone():
    a, n = np.arange(3, dtype=np.float32), np.arange(3)
    k = compiler.loss_scale(np.float32(1.0), 0.5)  # a number the step computes
    prog = compiler.from_calls([(compiler.loss_scale, (np.float32(1.0), 0.5), {}, k),
                                (np.multiply, (a, k), {}, a * k), (np.add, (n, 1), {}, n + 1)])
    new, count = compiler.scalars_to_arrays(prog)
    assert count == 0 and new[1].args[1] is k and new[2].args[1] == 1


def test_a_zero_d_parameter_equal_to_a_constant_keeps_its_own_name():
    """The constant 1.0 (float32) of σ's 1 + e and a 0-d parameter that holds 1.0: the replay
    must keep reading the parameter, which the optimizer changes."""
    scale = Tensor(np.array(1.0, np.float32), requires_grad=True)
    opt = optim.SGD([scale], lr=0.5)

    def step(x):
        loss = ((x * scale).sigmoid()).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    eager_scale = Tensor(np.array(1.0, np.float32), requires_grad=True)
    eager_opt = optim.SGD([eager_scale], lr=0.5)
    fast = capture(step)
    x = np.linspace(0.1, 1, 5, dtype=np.float32)
    for _ in range(3):
        got = fast(x)
        want = ((Tensor(x) * eager_scale).sigmoid()).sum()
        eager_opt.zero_grad()
        want.backward()
        eager_opt.step()
        assert same_bits(got.numpy(), want.numpy())
    assert same_bits(scale.numpy(), eager_scale.numpy()) and scale.item() != 1.0


def test_buffers_are_planned_only_for_arrays_that_do_not_escape():
    a = np.arange(3.0)
    t = a + 1
    kept = t * 2
    ret, store = kept + 0, []
    prog = compiler.from_calls([(np.add, (a, 1), {}, t), (np.multiply, (t, 2), {}, kept),
                                (store.append, (kept,), {}, None), (np.add, (kept, 0), {}, ret)])
    new, count = compiler.plan_buffers(prog, [ret])
    assert count == 1 and new[0].into is not None and new[1].into is None
    assert same_bits(run(new[:2]), kept)


def test_buffers_are_reused_only_once_their_values_and_views_are_dead():
    a = np.random.default_rng(0).normal(size=(3, 4))
    t1 = a + 1
    view = np.transpose(t1)  # read late: t1's buffer must stay untouched until then
    t2 = a * 2
    t3 = t2 - 1
    t4 = t3 * 3
    out = np.matmul(view, t4)
    prog = compiler.from_calls([(np.add, (a, 1), {}, t1), (np.transpose, (t1,), {}, view),
                                (np.multiply, (a, 2), {}, t2), (np.subtract, (t2, 1), {}, t3),
                                (np.multiply, (t3, 3), {}, t4), (np.matmul, (view, t4), {}, out)])
    new, count = compiler.plan_buffers(prog, [out])
    buffers = [ins.into for ins in new if ins.into is not None]
    assert count == 4 and len({id(b) for b in buffers}) == 3  # t4 takes t2's buffer
    assert new[4].into is new[2].into and new[0].into is not new[2].into
    assert same_bits(run(new), out)


def test_the_replay_deletes_each_variable_after_its_last_use():
    """The replay frees arrays as the eager step does: each variable but the returned one is
    deleted once read for the last time, and the result is unchanged."""
    step = capture(lambda x: ((x * 2.0) * 3.0).sum())
    x = np.ones((4, 5), np.float32)
    step(x)
    lines = step.source.splitlines()
    assigned = {ln.split("=")[0].strip() for ln in lines if ln.startswith("    v") and "=" in ln}
    deleted = {n.strip() for ln in lines if ln.startswith("    del ") for n in ln[8:].split(",")}
    returned = lines[-1].split()[-1]
    assert len(assigned) == 3 and assigned - {returned} == deleted
    assert same_bits(step(x).numpy(), np.float32(120.0))


def test_source_lists_the_passes_and_their_counts():
    step = capture(lambda x, y: F.quadratic_cost(x, y))
    step(np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32))
    assert "#   lower 1 " in step.source and "#   buffers" in step.source


# --- the check can fail ----------------------------------------------------------------------

def test_bit_identity_check_catches_a_rewrite_that_rounds_differently():
    """σ'(z) from the saved output written as g(σ - σ²) instead of gσ(1 - σ): equal to a few
    ulps, not bit for bit; and zero-then-add turns -0.0 into 0.0."""
    rng = np.random.default_rng(0)
    s = Sigmoid.forward(rng.normal(size=1000).astype(np.float32))
    g = rng.normal(size=1000).astype(np.float32)
    eager = Sigmoid.backward(g, s, None)[0]
    assert np.allclose(eager, g * (s - s * s), rtol=1e-5)
    assert not same_bits(eager, g * (s - s * s))
    grad = np.array([-0.0, 1.0], np.float32)
    assert np.array_equal(np.zeros(2, np.float32) + grad, grad)
    assert not same_bits(np.zeros(2, np.float32) + grad, grad)


def test_same_bits_sees_dtype_and_shape():
    assert not same_bits(np.zeros(2, np.float32), np.zeros(2, np.float64))
    assert not same_bits(np.zeros(2), np.zeros((2, 1)))


@pytest.mark.parametrize("batch", [1, 5])
def test_replay_with_buffers_does_not_overwrite_returned_losses(batch):
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(2 * batch, 6)).astype(np.float32)
    Y = rng.uniform(size=(2 * batch, 3)).astype(np.float32)
    model = DigitNet((6, 4, 3), seed=0)
    fast = capture(training_step(model, optim.SGD(model.parameters(), lr=1.0), "quadratic"))
    first = fast(X[:batch], Y[:batch])
    value = first.numpy().copy()
    fast(X[batch:], Y[batch:])
    fast(X[batch:], Y[batch:])
    assert same_bits(first.numpy(), value)


def test_common_stops_at_a_write_into_a_view_of_an_argument():
    h, y = np.ones((2, 3)), np.zeros((2, 3))
    made = h * 1

    def add_one(view):
        view += 1
    view = made.T
    prog = compiler.from_calls([(np.subtract, (made, y), {}, made - y),
                                (np.transpose, (made,), {}, view), (add_one, (view,), {}, None),
                                (np.subtract, (made, y), {}, made - y)])
    new, count = compiler.eliminate_common(prog, [h, y])
    assert count == 0 and len(new) == 4


def test_common_stops_at_a_step_that_changes_a_parameter_seen_through_a_view():
    """x @ wt before and after opt.step(), wt = w.T taken once in the step: the optimizer
    changes w, so wt's second product is not the first's."""
    def make():
        w = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4) / 7, requires_grad=True)
        opt = optim.SGD([w], lr=0.1)

        def step(x):
            wt = w.T
            loss = (x @ wt).sum()
            opt.zero_grad()
            loss.backward()
            before = (x @ wt).sum()
            opt.step()
            return before, (x @ wt).sum()
        return step
    eager, fast = make(), capture(make())
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.normal(size=(2, 4)).astype(np.float32)
        for want, got in zip(eager(Tensor(x)), fast(x)):
            assert same_bits(want.numpy(), got.numpy())


def test_common_stops_at_a_write_into_a_constant_seen_through_a_view():
    w = Tensor(np.ones((3, 4), np.float32))

    def step(x):
        wt = w.T
        first = x @ wt
        w.add_(1.0)
        return first, x @ wt
    fast, x = capture(step), np.ones((2, 4), np.float32)
    fast(x)
    first, second = fast(x)
    assert same_bits(second.numpy(), first.numpy() + 4)


def test_a_returned_result_equal_to_an_earlier_one_is_computed_at_each_replay():
    w = Tensor(np.arange(12, dtype=np.float32).reshape(4, 3), requires_grad=True)
    fast = capture(lambda x: (x @ w, x @ w))
    fast(np.ones((2, 4), np.float32))
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    a, b = fast(x)
    want = (Tensor(x) @ w).numpy()
    assert same_bits(a.numpy(), want) and same_bits(b.numpy(), want)
    assert not np.shares_memory(a.numpy(), b.numpy())


def test_common_renames_an_eliminated_result_in_params():
    a, b = np.ones((2, 2)), np.eye(2)
    d1, d2 = a @ b, a @ b
    prog = compiler.from_calls([(np.matmul, (a, b), {}, d1), (np.matmul, (a, b), {}, d2),
                                (np.take, (a,), {"indices": (d2,)}, None)])
    new, count = compiler.eliminate_common(prog, [a, b])
    assert count == 1 and new[1].params["indices"][0] is d1


def test_scalars_keep_the_sign_of_zero():
    a = np.array([-0.0, 1.0], np.float32)
    calls = [(np.add, (a, -0.0), {}, a + -0.0), (np.add, (a, 0.0), {}, a + 0.0)]
    new, _ = compiler.scalars_to_arrays(compiler.from_calls(calls))
    for ins, (_, _, _, eager) in zip(new, calls):
        assert same_bits(ins.fn(*ins.args), eager)

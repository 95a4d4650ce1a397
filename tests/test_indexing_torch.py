"""x[index] against PyTorch over random index tuples: ints, slices, None, Ellipsis, int arrays
and bool masks, mixed. PyTorch applies ints before placing the axes of index arrays, where
numpy counts ints as index arrays (see ops.movement.torch_order); values, shapes and gradients
must be PyTorch's. Skipped without torch."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tinygrad_lite as tl
from tinygrad_lite.ops.movement import torch_order

torch = pytest.importorskip("torch", reason="torch is not installed: indexing parity skipped")

SHAPE = (4, 3, 5, 2)
ARRAY_SHAPES = [(2,), (1, 2), (3, 1), ()]  # any two of these broadcast together


def entry(draw, kind, sizes):
    """One index entry of `kind` for the axes of `sizes` it consumes."""
    if kind in ("int", "int0d"):  # a 0-d integer tensor acts as an int in PyTorch
        i = draw(st.integers(-sizes[0], sizes[0] - 1))
        return i if kind == "int" else np.array(i)
    if kind == "slice":
        start, stop = (draw(st.one_of(st.none(), st.integers(-6, 6))) for _ in range(2))
        return slice(start, stop, draw(st.sampled_from([None, 1, 2, 3])))
    if kind == "array":
        shape = draw(st.sampled_from(ARRAY_SHAPES))
        return np.array(draw(st.lists(st.integers(-sizes[0], sizes[0] - 1),
                                           min_size=int(np.prod(shape)),
                                           max_size=int(np.prod(shape))))).reshape(shape)
    mask = np.zeros(int(np.prod(sizes)), bool)  # two True: the mask broadcasts like (2,)
    mask[draw(st.permutations(range(mask.size)))[:2]] = True
    return mask.reshape(sizes)


def width(kind, mask_ndim):
    """How many axes of x an entry consumes."""
    return mask_ndim if kind == "mask" else 0 if kind == "none" else 1


@st.composite
def indices(draw):
    """The kinds of entries, each mask's ndim, and where an Ellipsis goes (None: nowhere)."""
    kinds = draw(st.lists(st.sampled_from(["int", "int0d", "slice", "array", "mask", "none"]),
                          min_size=1, max_size=5))
    masks = [draw(st.integers(1, 2)) for _ in kinds]
    while sum(map(width, kinds, masks)) > len(SHAPE):
        kinds, masks = kinds[:-1], masks[:-1]
    return kinds, masks, draw(st.one_of(st.none(), st.integers(0, len(kinds))))


def build(draw, kinds, masks, ellipsis_at):
    """The index tuple, each entry fitted to the axes it falls on (Ellipsis takes the rest)."""
    used = list(map(width, kinds, masks))
    skip = len(SHAPE) - sum(used) if ellipsis_at is not None else 0
    index, axis = [], 0
    for n, (kind, w) in enumerate(zip(kinds, used)):
        if n == ellipsis_at:
            index.append(Ellipsis)
            axis += skip
        index.append(None if kind == "none" else
                     entry(draw, kind, SHAPE[axis:axis + w]))
        axis += w
    if ellipsis_at == len(kinds):
        index.append(Ellipsis)
    return tuple(index)


@settings(max_examples=int(os.environ.get("INDEX_EXAMPLES", 150)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_indexing_values_shapes_and_gradients_equal_pytorchs(data):
    spec = data.draw(indices())
    index = build(data.draw, *spec)
    x = np.random.default_rng(0).standard_normal(SHAPE)
    tindex = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    t = torch.tensor(x, requires_grad=True)
    try:
        expected = t[tindex]
    except (IndexError, RuntimeError, ValueError):
        with pytest.raises((IndexError, ValueError)):
            tl.Tensor(x)[index]
        return
    ours = tl.Tensor(x, requires_grad=True)
    got = ours[index]
    assert got.shape == tuple(expected.shape), (index, got.shape, tuple(expected.shape))
    np.testing.assert_array_equal(got.numpy(), expected.detach().numpy())
    g = np.random.default_rng(1).standard_normal(got.shape)
    got.backward(tl.Tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    target, ttarget = tl.Tensor(x.copy()), torch.tensor(x.copy())
    target[index] = 7.0  # index_put_: the same elements change
    ttarget[tindex] = 7.0
    np.testing.assert_array_equal(target.numpy(), ttarget.numpy())


def test_assignment_follows_pytorchs_rule_and_refuses_a_tensor_that_records_gradients():
    x, t = tl.Tensor(np.zeros((5, 2, 3))), torch.zeros(5, 2, 3, dtype=torch.float64)
    v = np.arange(6.0).reshape(2, 3)
    x[0, :, np.array([2, 0, 1])] = v  # (2, 3) is PyTorch's shape of this place; numpy's (3, 2)
    t[0, :, torch.tensor([2, 0, 1])] = torch.tensor(v)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    w = tl.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 2.0
    with tl.no_grad():
        w[0] = 2.0
    assert w.tolist() == [2.0, 1.0, 1.0]


def test_an_int_with_an_index_array_across_a_slice_is_placed_as_pytorch_places_it():
    x = tl.Tensor(np.zeros((5, 2, 2, 1, 1, 5, 1, 1, 2, 4)))
    idx = np.zeros((1, 1, 5, 1, 1), int)
    got = x[0, :, idx].shape  # numpy's rule would give (1, 1, 5, 1, 1, 2, 1, 1, 5, 1, 1, 2, 4)
    assert got == tuple(torch.zeros(x.shape)[0, :, torch.tensor(idx)].shape)
    assert got == (2, 1, 1, 5, 1, 1, 1, 1, 5, 1, 1, 2, 4)


def test_numpys_rule_differs_so_the_parity_check_can_fail():
    x = np.zeros((5, 2, 3))
    index = (0, slice(None), np.array([0, 1, 2]))
    assert x[index].shape == (3, 2)
    assert tuple(torch.zeros(5, 2, 3)[0, :, torch.tensor([0, 1, 2])].shape) == (2, 3)
    assert torch_order(index, 3) is not None and torch_order((slice(None), [0, 1]), 2) is None

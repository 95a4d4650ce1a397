"""Errors typed as PyTorch raises them: shapes that do not fit are RuntimeErrors, dims and
indices out of range IndexErrors (tinygrad_lite.errors: ShapeError and DimError, both still
ValueErrors for older callers). Each row runs here and, with torch installed, in PyTorch."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.errors import DimError, IndexRangeError, ShapeError

from autograd_ops import Ours, torch_namespace

A, B = np.ones((2, 3)), np.ones((4, 5))
# (id, f(L, a, b) with a of shape (2, 3) and b of (4, 5), PyTorch's exception type)
ROWS = [
    ("matmul", lambda L, a, b: a @ b, RuntimeError),
    ("add", lambda L, a, b: a + b, RuntimeError),
    ("cat", lambda L, a, b: L.cat([a, b], 0), RuntimeError),
    ("stack", lambda L, a, b: L.stack([a, b]), RuntimeError),
    ("reshape", lambda L, a, b: a.reshape(4, 2), RuntimeError),
    ("expand", lambda L, a, b: a.expand(3, 3), RuntimeError),
    ("linear", lambda L, a, b: L.F.linear(a, b), RuntimeError),
    ("conv2d_channels", lambda L, a, b: L.F.conv2d(b.reshape(1, 1, 4, 5),
                                                   a.reshape(1, 2, 1, 3)), RuntimeError),
    ("pad_odd", lambda L, a, b: L.F.pad(a, (1,)), RuntimeError),
    ("item", lambda L, a, b: a.item(), RuntimeError),
    ("bool", lambda L, a, b: bool(a), RuntimeError),
    ("gather_index", lambda L, a, b: a.gather(1, L.const(np.array([[5], [0]]))), RuntimeError),
    ("index", lambda L, a, b: a[5], IndexError),
    ("index_array", lambda L, a, b: a[L.const(np.array([0, 7]))], IndexError),
    ("sum_dim", lambda L, a, b: a.sum(dim=4), IndexError),
    ("softmax_dim", lambda L, a, b: L.F.softmax(a, dim=4), IndexError),
    ("argmin_dim", lambda L, a, b: a.argmin(dim=3), IndexError),
    ("max_dim", lambda L, a, b: a.max(dim=3), IndexError),
    ("transpose_dim", lambda L, a, b: a.transpose(0, 4), IndexError),
    ("cumsum_dim", lambda L, a, b: a.cumsum(2), IndexError),
    ("flip_dim", lambda L, a, b: a.flip(2), IndexError),
    ("cross_entropy_label", lambda L, a, b: L.F.cross_entropy(a, L.const(np.array([0, 5]))),
     IndexError),
]
IDS = [r[0] for r in ROWS]
OURS_TYPE = {RuntimeError: (ShapeError, IndexRangeError), IndexError: (DimError, IndexError)}


@pytest.mark.parametrize("name, f, kind", ROWS, ids=IDS)
def test_ours_raises_pytorchs_type_and_still_a_value_error(name, f, kind):
    with pytest.raises(kind) as info:
        f(Ours, tl.Tensor(A), tl.Tensor(B))
    assert isinstance(info.value, OURS_TYPE[kind])
    assert str(info.value)


@pytest.mark.parametrize("name, f, kind", ROWS, ids=IDS)
def test_pytorch_raises_that_type(name, f, kind):
    torch = pytest.importorskip("torch", reason="torch is not installed: live check skipped")
    with pytest.raises(kind):
        f(torch_namespace(torch), torch.tensor(A), torch.tensor(B))


def test_shape_and_dim_errors_stay_value_errors():
    assert issubclass(ShapeError, ValueError) and issubclass(DimError, ValueError)
    with pytest.raises(ValueError):
        tl.Tensor(A) @ tl.Tensor(B)


def test_the_type_check_can_fail():
    def plain(L, a, b):
        raise ValueError("a plain ValueError, not PyTorch's RuntimeError")
    with pytest.raises(ValueError):  # escapes the check's pytest.raises(RuntimeError)
        test_ours_raises_pytorchs_type_and_still_a_value_error("plain", plain, RuntimeError)

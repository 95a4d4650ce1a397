"""Every op of the engine as a small function of float64 inputs, written once for
tinygrad_lite and PyTorch (through a namespace `L`), with inputs placed away from kinks and ties
(where derivatives are not defined). The autodiff-mode tests run each through every mode."""
import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.functional as TLF


class Ours:
    F = TLF
    cat, stack, where, maximum = tl.cat, tl.stack, tl.where, tl.maximum
    amax = staticmethod(lambda x, dim: x.max(axis=dim))
    const = staticmethod(lambda a: tl.Tensor(a))


def torch_namespace(torch):
    class Torch:
        F = torch.nn.functional
        cat, stack, where, maximum = torch.cat, torch.stack, torch.where, torch.maximum
        amax = staticmethod(lambda x, dim: torch.amax(x, dim=dim))
        const = staticmethod(lambda a: torch.tensor(a))
    return Torch


IDX = np.array([[0, 2, 1, 2], [3, 3, 0, 1], [1, 0, 0, 2]])
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
LABELS = np.array([2, 0, 3])

# name: (input shapes, f(L, *inputs), domain of the inputs)
OPS = {
    "add": ([(3, 1), (1, 4)], lambda L, a, b: a + b, "any"),
    "sub": ([(3, 4), (4,)], lambda L, a, b: a - b, "any"),
    "mul": ([(2, 3, 4), (3, 1)], lambda L, a, b: a * b, "any"),
    "div": ([(3, 4), (3, 4)], lambda L, a, b: a / b, "pos"),
    "neg": ([(3, 4)], lambda L, a: -a, "any"),
    "square": ([(3, 4)], lambda L, a: a ** 2, "any"),
    "pow": ([(3, 4)], lambda L, a: a ** 1.5 + a ** -2, "pos"),
    "exp": ([(3, 4)], lambda L, a: a.exp(), "any"),
    "log": ([(3, 4)], lambda L, a: a.log(), "pos"),
    "sigmoid": ([(3, 4)], lambda L, a: a.sigmoid(), "any"),
    "tanh": ([(3, 4)], lambda L, a: a.tanh(), "any"),
    "relu": ([(3, 4)], lambda L, a: a.relu(), "apart"),
    "abs": ([(3, 4)], lambda L, a: a.abs(), "apart"),
    "clamp": ([(3, 4)], lambda L, a: a.clamp(min=-0.5, max=0.6), "apart"),
    "matmul": ([(3, 4), (4, 5)], lambda L, a, b: a @ b, "any"),
    "matvec": ([(3, 4), (4,)], lambda L, a, b: a @ b, "any"),
    "vecmat": ([(4,), (4, 5)], lambda L, a, b: a @ b, "any"),
    "batched_matmul": ([(2, 3, 4), (2, 4, 2)], lambda L, a, b: a @ b, "any"),
    "linear": ([(3, 4), (5, 4), (5,)], lambda L, x, w, b: L.F.linear(x, w, b), "any"),
    "linear_1d": ([(4,), (5, 4), (5,)], lambda L, x, w, b: L.F.linear(x, w, b), "any"),
    "mse_loss": ([(3, 4), (3, 4)], lambda L, a, b: L.F.mse_loss(a, b), "any"),
    "binary_cross_entropy": ([(3, 4), (3, 4)],
                             lambda L, p, y: L.F.binary_cross_entropy(p, y), "prob"),
    "sum": ([(2, 3, 4)], lambda L, a: a.sum(dim=(0, 2), keepdim=True) * a.sum(dim=1).sum(), "any"),
    "mean": ([(3, 4)], lambda L, a: a.mean(dim=0) * a.mean(), "any"),
    "reshape": ([(3, 4)], lambda L, a: a.reshape(2, 6) * a.reshape(6, 2).T, "any"),
    "permute": ([(2, 3, 4)], lambda L, a: a.permute(2, 0, 1) * a.transpose(0, 2).transpose(1, 2), "any"),
    "getitem": ([(4, 5)], lambda L, a: a[[0, 2, 0], 1:] * a[::2, 1:4].sum(), "any"),
    "log_softmax": ([(3, 4)], lambda L, a: L.F.log_softmax(a, dim=1), "any"),
    "softmax": ([(3, 4)], lambda L, a: L.F.softmax(a, dim=0), "any"),
    "max": ([(3, 4)], lambda L, a: a.max() * a, "distinct"),
    "max_dim": ([(3, 4)], lambda L, a: a.max(dim=1).values, "distinct"),
    "amax": ([(3, 4)], lambda L, a: L.amax(a, 0), "distinct"),
    "min_dim": ([(3, 4)], lambda L, a: a.min(dim=0).values, "distinct"),
    "gather": ([(3, 4)], lambda L, a: a.gather(1, L.const(IDX)), "any"),
    "maximum": ([(3, 4), (3, 4)], lambda L, a, b: L.maximum(a, b), "distinct"),
    "where": ([(3, 4), (3, 4)], lambda L, a, b: L.where(L.const(MASK), a, b), "any"),
    "cat": ([(3, 2), (3, 4)], lambda L, a, b: L.cat([a, b], dim=1), "any"),
    "stack": ([(3, 4), (3, 4)], lambda L, a, b: L.stack([a, b], dim=1), "any"),
    "expand": ([(3, 1)], lambda L, a: a.expand(3, 4) * a.expand(2, 3, 4).sum(0), "any"),
    "pad": ([(3, 4)], lambda L, a: L.F.pad(a, (1, 2, -1, 0)), "any"),
    "conv2d": ([(2, 2, 5, 5), (3, 2, 3, 3), (3,)],
               lambda L, x, w, b: L.F.conv2d(x, w, b, stride=2, padding=1), "any"),
    "conv2d_overlap": ([(1, 2, 5, 4), (2, 2, 2, 3)],
                       lambda L, x, w: L.F.conv2d(x, w, stride=1), "any"),
    "conv2d_groups_dilation": ([(2, 4, 7, 6), (6, 2, 2, 3), (6,)],
                               lambda L, x, w, b: L.F.conv2d(x, w, b, stride=(2, 1), padding=1,
                                                             dilation=(2, 1), groups=2), "any"),
    "conv1d": ([(2, 3, 7), (4, 3, 3), (4,)],
               lambda L, x, w, b: L.F.conv1d(x, w, b, stride=2, padding=1, dilation=2), "any"),
    "conv1d_same": ([(1, 2, 6), (3, 2, 2)], lambda L, x, w: L.F.conv1d(x, w, padding="same"),
                    "any"),
    "conv_transpose2d": ([(2, 4, 3, 4), (4, 3, 3, 2), (6,)],
                         lambda L, x, w, b: L.F.conv_transpose2d(
                             x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                             groups=2, dilation=(1, 2)), "any"),
    "conv_transpose1d": ([(2, 2, 4), (2, 3, 3)],
                         lambda L, x, w: L.F.conv_transpose1d(x, w, stride=1, dilation=2,
                                                              output_padding=1), "any"),
    "max_pool2d": ([(2, 2, 4, 4)], lambda L, x: L.F.max_pool2d(x, 2), "distinct"),
    "max_pool2d_dilation": ([(1, 2, 7, 6)],
                            lambda L, x: L.F.max_pool2d(x, (3, 2), stride=(2, 1), padding=1,
                                                        dilation=(2, 3)), "distinct"),
    "max_pool2d_ceil": ([(1, 2, 6, 5)],
                        lambda L, x: L.F.max_pool2d(x, 2, stride=(2, 3), ceil_mode=True),
                        "distinct"),
    "avg_pool2d_ceil": ([(1, 2, 6, 5)],
                        lambda L, x: L.F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
                        "any"),
    "max_pool1d": ([(2, 2, 7)], lambda L, x: L.F.max_pool1d(x, 3, 2, 1), "distinct"),
    "avg_pool1d": ([(2, 2, 7)], lambda L, x: L.F.avg_pool1d(x, 3, 2, 1), "any"),
    "max_pool2d_overlap": ([(1, 2, 5, 5)], lambda L, x: L.F.max_pool2d(x, 3, stride=2, padding=1),
                           "distinct"),
    "avg_pool2d": ([(2, 2, 5, 5)], lambda L, x: L.F.avg_pool2d(x, 3, stride=2, padding=1), "any"),
    "cross_entropy": ([(3, 4)], lambda L, a: L.F.cross_entropy(a, L.const(LABELS)), "any"),
}


def inputs_for(name, seed=0):
    """float64 arrays for op `name`, in its domain."""
    shapes, _, domain = OPS[name]
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        x = rng.standard_normal(shape)
        if domain == "pos":
            x = np.abs(x) + 0.5
        elif domain == "prob":
            x = 0.1 + 0.8 / (1 + np.exp(-x))
        elif domain == "apart":  # at least 0.1 from 0 and from clamp's bounds
            x = np.sign(x) * (np.abs(x) + 0.1)
            x[np.abs(x - 0.6) < 0.1] += 0.25
            x[np.abs(x + 0.5) < 0.1] -= 0.25
        elif domain == "distinct":  # a permutation of spread values: no ties
            x = (rng.permutation(x.size).reshape(shape) - x.size / 2) / 4 + 0.01 * x
        arrays.append(x)
    return arrays

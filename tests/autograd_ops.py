"""Every op of the engine as a small function of float64 inputs, written once for
tinygrad_lite and PyTorch (through a namespace `L`), with inputs placed away from kinks and ties
(where derivatives are not defined). The autodiff-mode tests run each through every mode."""
import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.functional as TLF


class Ours:
    F = TLF
    cat, stack, where, maximum = tl.cat, tl.stack, tl.where, tl.maximum
    minimum = tl.minimum
    amax = staticmethod(lambda x, dim: x.max(axis=dim))
    const = staticmethod(lambda a: tl.Tensor(a))
    pow, vector_norm = staticmethod(tl.pow), staticmethod(tl.linalg.vector_norm)
    tril, triu = tl.tril, tl.triu


def torch_namespace(torch):
    class Torch:
        F = torch.nn.functional
        cat, stack, where, maximum = torch.cat, torch.stack, torch.where, torch.maximum
        minimum = torch.minimum
        amax = staticmethod(lambda x, dim: torch.amax(x, dim=dim))
        const = staticmethod(lambda a: torch.tensor(a))
        pow, vector_norm = staticmethod(torch.pow), staticmethod(torch.linalg.vector_norm)
        tril, triu = torch.tril, torch.triu
    return Torch


IDX = np.array([[0, 2, 1, 2], [3, 3, 0, 1], [1, 0, 0, 2]])
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
LABELS = np.array([2, 0, 3])
WEIGHT, POS_WEIGHT = np.array([0.5, 1.0, 2.0, 0.25]), np.array([3.0, 0.5, 1.0, 2.0])
TOKENS = np.array([[1, 4, 1], [0, 1, 3]])  # repeated indices: their gradients add up
KEYS = np.array([[True, False, True, True, False], [False] * 5, [True, True, False, True, True]])
INF = float("-inf")

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
    "minimum": ([(3, 4), (3, 4)], lambda L, a, b: L.minimum(a, b), "distinct"),
    "min": ([(3, 4)], lambda L, a: a.min() * a.min(dim=1).values.sum(), "distinct"),
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
    # more math
    "sin_cos": ([(3, 4)], lambda L, a: a.sin() * a.cos(), "any"),
    "tan": ([(3, 4)], lambda L, a: a.tan(), "prob"),
    "rounding": ([(3, 4)], lambda L, a: a.floor() * a + a.ceil() + a.trunc() * a + a.sign() * a,
                 "apart"),
    "log2_exp2": ([(3, 4)], lambda L, a: a.log2() * a.exp2(), "pos"),
    "sqrt_rsqrt": ([(3, 4)], lambda L, a: a.sqrt() + a.rsqrt(), "pos"),
    "erf": ([(3, 4)], lambda L, a: a.erf(), "any"),
    "pow_tensor": ([(3, 4), (3, 1)], lambda L, a, b: a ** b + L.pow(b, a) + 2 ** a, "pos"),
    "pow_tensor_method": ([(3, 4), (4,)], lambda L, a, b: a.pow(b) * L.pow(1.5, b), "pos"),
    # activations
    "gelu": ([(3, 4)], lambda L, a: L.F.gelu(a * 2), "any"),
    "gelu_tanh": ([(3, 4)], lambda L, a: L.F.gelu(a * 2, approximate="tanh"), "any"),
    "elu": ([(3, 4)], lambda L, a: L.F.elu(a, alpha=1.5), "apart"),
    "celu": ([(3, 4)], lambda L, a: L.F.celu(a, alpha=0.7), "apart"),
    "leaky_relu": ([(3, 4)], lambda L, a: L.F.leaky_relu(a, 0.2), "apart"),
    "hardtanh": ([(3, 4)], lambda L, a: L.F.hardtanh(a, -0.5, 0.6), "apart"),
    "relu6": ([(3, 4)], lambda L, a: L.F.relu6(a * 5 + 2.5), "apart"),
    "hardswish": ([(3, 4)], lambda L, a: L.F.hardswish(a * 2.5), "apart"),
    "softplus": ([(3, 4)], lambda L, a: L.F.softplus(a) + L.F.softplus(a, beta=2, threshold=3),
                 "any"),
    "logsigmoid": ([(3, 4)], lambda L, a: L.F.logsigmoid(a * 3), "any"),
    "silu_mish": ([(3, 4)], lambda L, a: L.F.silu(a) * L.F.mish(a), "any"),
    "softsign": ([(3, 4)], lambda L, a: L.F.softsign(a), "apart"),
    "bce_with_logits": ([(3, 4), (3, 4)], lambda L, x, y: L.F.binary_cross_entropy_with_logits(
        x * 3, y.sigmoid(), weight=L.const(WEIGHT), pos_weight=L.const(POS_WEIGHT)), "any"),
    "bce_with_logits_sum": ([(3, 4), (3, 4)], lambda L, x, y: L.F.binary_cross_entropy_with_logits(
        x * 3, y.sigmoid(), reduction="sum"), "any"),
    # scans, shape, norms
    "cumsum": ([(3, 4)], lambda L, a: a.cumsum(1) * a.cumsum(dim=0), "any"),
    "cumprod": ([(3, 4)], lambda L, a: a.cumprod(1) + a.cumprod(dim=0), "any"),
    "flip": ([(2, 3, 4)], lambda L, a: a.flip(0, 2) * a.flip([1]), "any"),
    "repeat": ([(3, 1)], lambda L, a: a.repeat(2, 1, 4) * a.repeat(1, 4), "any"),
    "chunk_split": ([(3, 4)], lambda L, a: a.chunk(3, dim=1)[1] * a.split([1, 3], 1)[1].sum(),
                    "any"),
    "vector_norm": ([(3, 4)], lambda L, a: L.vector_norm(a, dim=1) * L.vector_norm(a), "any"),
    "vector_norm_p": ([(3, 4)], lambda L, a: L.vector_norm(a, 3, dim=0, keepdim=True) * a
                      + L.vector_norm(a, 1) + a.norm(), "apart"),
    "vector_norm_inf": ([(3, 4)], lambda L, a: L.vector_norm(a, float("inf"), dim=1), "distinct"),

    # sequence models
    "matmul_broadcast": ([(2, 1, 3, 4), (5, 4, 2)], lambda L, a, b: a @ b, "any"),
    "matmul_4d": ([(2, 3, 4, 5), (2, 3, 5, 2)], lambda L, a, b: a @ b, "any"),
    "matmul_rows": ([(2, 3, 4), (4, 5)], lambda L, a, b: a @ b, "any"),
    "vec_batched_matmul": ([(4,), (2, 4, 3), (2, 3, 4)],
                           lambda L, v, a, b: (v @ a) * (b @ v), "any"),
    "embedding": ([(5, 3)], lambda L, w: L.F.embedding(L.const(TOKENS), w), "any"),
    "layer_norm": ([(2, 3, 4), (3, 4), (3, 4)],
                   lambda L, x, w, b: L.F.layer_norm(x, (3, 4), w, b), "any"),
    "layer_norm_no_affine": ([(3, 5)], lambda L, x: L.F.layer_norm(x, (5,), eps=1e-3), "any"),
    "layer_norm_no_bias": ([(3, 5), (5,)], lambda L, x, w: L.F.layer_norm(x, [5], w), "any"),
    "softmax_masked": ([(3, 5)], lambda L, a: L.F.softmax(a.masked_fill(
        L.const(~KEYS[[0, 2, 0]]), INF), dim=-1), "any"),
    "softmax_3d": ([(2, 3, 4)], lambda L, a: L.F.softmax(a, dim=1), "any"),
    "masked_fill": ([(3, 5)], lambda L, a: a.masked_fill(L.const(KEYS), 2.5) * a, "any"),
    "tril_triu": ([(2, 4, 4)], lambda L, a: L.tril(a, -1) + a.triu(1) * a.tril(), "any"),
    "sdpa": ([(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)],
             lambda L, q, k, v: L.F.scaled_dot_product_attention(q, k, v), "any"),
    "sdpa_causal": ([(2, 4, 3), (2, 4, 3), (2, 4, 2)],
                    lambda L, q, k, v: L.F.scaled_dot_product_attention(q, k, v, is_causal=True),
                    "any"),
    "sdpa_causal_broadcast": ([(2, 2, 5, 3), (2, 1, 4, 3), (1, 1, 4, 2)], lambda L, q, k, v:
                              L.F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                               scale=0.7), "any"),
    "sdpa_bool_mask": ([(2, 3, 4), (1, 5, 4), (2, 5, 3)], lambda L, q, k, v:
                       L.F.scaled_dot_product_attention(q, k, v, L.const(KEYS)), "any"),
    "sdpa_float_mask": ([(2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5)], lambda L, q, k, v, m:
                        L.F.scaled_dot_product_attention(q, k, v, m, scale=0.3), "any"),
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

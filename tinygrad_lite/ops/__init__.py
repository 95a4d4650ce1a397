"""The ops: each a `Function` with its forward, backward and jvp (tangent) rules side by side,
the formula in its docstring. Grouped as a reader would look for them:

    elementwise  Add Sub Mul Div Neg Pow Exp Log Sigmoid ReLU Tanh Clamp Abs Maximum Minimum
                 Where Cast Compare Sin Cos Tan Rounding Log2 Exp2 Sqrt Rsqrt PowTensor Erf
    activations  GELU ELU LeakyReLU Hardtanh Hardswish Softplus LogSigmoid
    reduce       Sum Max Min Argmax Argmin AnyNonzero AllNonzero LogSoftmax Norm
    movement     Reshape Permute GetItem IndexAdd Gather Cat Expand Pad Flip CumSum
    layers       Matmul Affine SquaredError BinaryCrossEntropy (fused, for speed and stability)
    conv         Unfold Fold Conv ConvTranspose MaxPool AvgPool (1, 2 or 3 spatial dims)
    sequence     Embedding LayerNorm Softmax BiasSoftmax AttentionWeights (fused: scores,
                 causal mask, softmax) Triangle (tril, triu); masked_fill, attention

Besides the ops, each module holds the composites built from them that Tensor's methods and
the package's functions call (cat, stack, pad, where, flatten...). Reach an op as `ops.Sigmoid`:
the names of the nn modules (`nn.Sigmoid`) are layers, these are the rules behind them.
"""
from . import activations, conv, elementwise, layers, movement, reduce, sequence  # noqa: F401
from .activations import (ELU, GELU, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,  # noqa: F401
                          Softplus)
from .conv import AvgPool, Conv, ConvTranspose, Fold, MaxPool, Unfold  # noqa: F401
from .elementwise import (Abs, Add, Cast, Clamp, Compare, Div, Exp, Log, Maximum,  # noqa: F401
                          Minimum, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh, Where)
from .elementwise import (Cos, Erf, Exp2, Log2, PowTensor, Rounding, Rsqrt, Sin,  # noqa: F401
                          Sqrt, Tan)
from .layers import Affine, BinaryCrossEntropy, Matmul, SquaredError  # noqa: F401
from .movement import (Cat, CumSum, Expand, Flip, Gather, GetItem, IndexAdd, Pad,  # noqa: F401
                       Permute, Reshape)
from .reduce import (AllNonzero, AnyNonzero, Argmax, Argmin, LogSoftmax, Max,  # noqa: F401
                     Min, Norm, Sum)
from .sequence import (AttentionWeights, BiasSoftmax, Embedding, LayerNorm,  # noqa: F401
                       Softmax, Triangle)


"""The ops: each a `Function` with its forward, backward and jvp (tangent) rules side by side,
the formula in its docstring. Grouped as a reader would look for them:

    elementwise  Add Sub Mul Div Neg Pow Exp Log Sigmoid ReLU Tanh Clamp Abs Maximum Minimum
                 Where Cast Compare
    reduce       Sum Max Min Argmax Argmin AnyNonzero AllNonzero LogSoftmax
    movement     Reshape Permute GetItem IndexAdd Gather Cat Expand Pad
    layers       Matmul Affine SquaredError BinaryCrossEntropy (fused, for speed and stability)
    conv         Unfold Fold Conv ConvTranspose MaxPool AvgPool (1, 2 or 3 spatial dims)

Besides the ops, each module holds the composites built from them that Tensor's methods and
the package's functions call (cat, stack, pad, where, flatten...). Reach an op as `ops.Sigmoid`:
the names of the nn modules (`nn.Sigmoid`) are layers, these are the rules behind them.
"""
from . import conv, elementwise, layers, movement, reduce  # noqa: F401 (each registers its ops)
from .conv import AvgPool, Conv, ConvTranspose, Fold, MaxPool, Unfold  # noqa: F401
from .elementwise import (Abs, Add, Cast, Clamp, Compare, Div, Exp, Log, Maximum,  # noqa: F401
                          Minimum, Mul, Neg, Pow, ReLU, Sigmoid, Sub, Tanh, Where)
from .layers import Affine, BinaryCrossEntropy, Matmul, SquaredError  # noqa: F401
from .movement import Cat, Expand, Gather, GetItem, IndexAdd, Pad, Permute, Reshape  # noqa: F401
from .reduce import (AllNonzero, AnyNonzero, Argmax, Argmin, LogSoftmax, Max,  # noqa: F401
                     Min, Sum)

"""tinygrad_lite: a small reverse-mode autodiff library on numpy, for learning how nets learn."""
from .tensor import Function, Tensor, enable_grad, from_numpy, is_grad_enabled, no_grad
from . import ops
from .ops.elementwise import maximum, minimum, where
from .ops.movement import cat, stack
from .creation import (arange, eye, full, full_like, manual_seed, ones, ones_like, rand,
                       rand_like, randn, randn_like, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from . import autograd, functional, linalg, nn, optim
from .serialization import CheckpointError, load, save
from .capture import CaptureError, capture

__version__ = "0.1.0"
__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "numerical_grad", "autograd", "GradcheckError", "functional", "nn",
           "optim", "ops", "save", "load", "from_numpy",
           "CheckpointError", "capture", "CaptureError", "__version__",
           "manual_seed", "cat", "stack", "where", "maximum", "minimum",
           "flatten", "squeeze", "unsqueeze", "zeros", "ones", "full", "rand", "randn", "arange",
           "eye", "tril", "triu", "masked_fill", "zeros_like", "ones_like", "full_like",
           "rand_like", "randn_like"]

# torch.abs(x), torch.max(x, 1), torch.flatten(x, 1)...: the Tensor methods, as functions
# (abs, max and min stay out of __all__, so `import *` keeps Python's own)
abs, max, min = Tensor.abs, Tensor.max, Tensor.min
flatten, squeeze, unsqueeze = Tensor.flatten, Tensor.squeeze, Tensor.unsqueeze
# torch.sin(x), torch.pow(a, b), torch.cumsum(x, 0), torch.multinomial(p, 2)...: likewise
sin, cos, tan, erf, floor, ceil, trunc = (Tensor.sin, Tensor.cos, Tensor.tan, Tensor.erf,
                                          Tensor.floor, Tensor.ceil, Tensor.trunc)
sign, sqrt, rsqrt, log2, exp2 = Tensor.sign, Tensor.sqrt, Tensor.rsqrt, Tensor.log2, Tensor.exp2
argmin, argmax, cumsum, cumprod = Tensor.argmin, Tensor.argmax, Tensor.cumsum, Tensor.cumprod
flip = Tensor.flip
split, chunk, multinomial, norm = Tensor.split, Tensor.chunk, Tensor.multinomial, Tensor.norm
pow = ops.elementwise.pow

tril, triu, masked_fill = Tensor.tril, Tensor.triu, Tensor.masked_fill

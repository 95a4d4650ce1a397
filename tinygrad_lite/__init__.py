"""tinygrad_lite: a small reverse-mode autodiff library on numpy, for learning how nets learn."""
from .tensor import Function, Tensor, enable_grad, from_numpy, is_grad_enabled, no_grad
from . import ops
from .ops.elementwise import maximum, minimum, where
from .ops.movement import cat, stack
from .creation import (arange, eye, full, full_like, manual_seed, ones, ones_like, rand,
                       rand_like, randn, randn_like, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from . import autograd, functional, nn, optim
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
tril, triu, masked_fill = Tensor.tril, Tensor.triu, Tensor.masked_fill

"""tinygrad_lite: a small reverse-mode autodiff library on numpy, for learning how nets learn."""
from .tensor import Function, Tensor, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from . import functional, nn, optim
from .serialization import CheckpointError, load, save
from .capture import CaptureError, capture

__version__ = "0.1.0"
__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "gradcheck",
           "numerical_grad", "GradcheckError", "functional", "nn", "optim", "save", "load",
           "CheckpointError", "capture", "CaptureError", "__version__"]

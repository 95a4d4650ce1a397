"""The library's error types for arguments an op cannot take, typed as PyTorch raises them
(RuntimeError for shapes, IndexError for dimensions and indices) and still ValueErrors, so
code written for either catches them."""


class ShapeError(RuntimeError, ValueError):
    """Shapes (or sizes, dtypes) that do not fit an op, e.g. a matmul of (2, 3) and (4, 5)."""


class DimError(IndexError, ValueError):
    """A dimension or an index out of range, e.g. dim=2 for a 2-D tensor."""


class IndexRangeError(RuntimeError, IndexError, ValueError):
    """An index value out of range in an op that reads by index (gather): PyTorch raises a
    RuntimeError; code written for Python's sequences catches IndexError. Both catch this."""

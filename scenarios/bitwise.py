"""Whether a value read back is the value logged: same type kind, and for floats the same bits.

Standard library only (NumPy for arrays, when there are arrays); imports nothing of the
project, so that the fidelity check and the workloads that judge what they read share it.
"""

from __future__ import annotations

import math
import numbers
import struct
from typing import Any


def _bits(value: float) -> bytes:
    # Every NaN is the same NaN here: payload bits are not something a user logs.
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


def same_value(expected: Any, got: Any) -> bool:
    """Whether `got` is `expected` with the same type kind and, for floats, the same bits."""
    if expected is None:
        return got is None
    if type(expected).__module__ == "numpy" and hasattr(expected, "dtype"):
        return _same_array(expected, got) if hasattr(expected, "shape") else expected == got
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(expected, float):
        if isinstance(got, bool) or not isinstance(got, numbers.Real):
            return False
        return _bits(expected) == _bits(float(got))
    if isinstance(expected, int):
        return (
            isinstance(got, numbers.Integral) and not isinstance(got, bool) and int(got) == expected
        )
    if isinstance(expected, str):
        return isinstance(got, str) and got == expected
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(expected)
            and all(same_value(e, g) for e, g in zip(expected, got, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(same_value(v, got[k]) for k, v in expected.items())
        )
    return bool(expected == got)


def _same_array(expected: Any, got: Any) -> bool:
    import numpy as np  # arrays only

    if not isinstance(expected, np.ndarray):  # a numpy scalar
        return isinstance(got, np.generic) and got.dtype == expected.dtype and got == expected
    return (
        isinstance(got, np.ndarray)
        and got.dtype == expected.dtype
        and got.shape == expected.shape
        and np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected).tobytes()
    )

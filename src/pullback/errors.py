"""``pullback.errors``: the exceptions pullback raises for misuse of traced values."""

from pullback._core import (
    ConcretizationTypeError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)
from pullback._hop.callback import CallbackNotBatchableError
from pullback._hop.custom_call import CustomVJPException
from pullback._ir import JaxprTypeError

__all__ = [
    "CallbackNotBatchableError",
    "ConcretizationTypeError",
    "CustomVJPException",
    "JaxprTypeError",
    "TracerArrayConversionError",
    "TracerBoolConversionError",
    "TracerIntegerConversionError",
    "UnexpectedTracerError",
]

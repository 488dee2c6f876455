"""Primitives: each declared once with all of its rules. This package re-exports them."""

from pullback._ops._base import convert_element_type, primitive, unbroadcast
from pullback._ops.elementwise import *  # noqa: F403
from pullback._ops.elementwise import _power, _round
from pullback._ops.structural import (
    broadcast_to,
    reduce_sum,
    reshape,
    stop_gradient,
    transpose,
)

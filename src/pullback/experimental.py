"""``pullback.experimental``: JAX's experimental names that pullback supports."""

from pullback._config import disable_x64, enable_x64

__all__ = ["disable_x64", "enable_x64"]

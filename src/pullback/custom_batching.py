"""``pullback.custom_batching``: user-defined batching rules for ``vmap``."""

from pullback._hop.custom_vmap import custom_vmap, sequential_vmap

__all__ = ["custom_vmap", "sequential_vmap"]

"""``pullback.ad_checkpoint``: gradient checkpointing (``checkpoint``/``remat``), names for
policies (``checkpoint_name``) and what the forward pass keeps (``print_saved_residuals``)."""

from pullback import checkpoint_policies
from pullback._hop.checkpoint import checkpoint, print_saved_residuals, remat, saved_residuals
from pullback._ops import checkpoint_name

__all__ = [
    "checkpoint",
    "checkpoint_name",
    "checkpoint_policies",
    "print_saved_residuals",
    "remat",
    "saved_residuals",
]

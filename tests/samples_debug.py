"""Sample rows for ``debug_callback`` (``pullback._hop.debug_callback``). The row format is
described at the top of ``test_primitives.py``; what the callback sees under every
transformation is tested in ``tests/test_debug.py``."""

from __future__ import annotations

import numpy as np

from pullback._hop.debug_callback import DEBUG, FlatCallback
from pullback.tree_util import tree_flatten

_SEEN = []

SAMPLES: dict[str, list[dict]] = {
    "debug_callback": [
        {
            "args": (np.arange(3.0),),
            "params": {
                "callback": FlatCallback(
                    lambda x: _SEEN.append(x), tree_flatten(((0,), {}))[1], {}, (False,)
                ),
                "effect": DEBUG,
                "partitioned": False,
            },
            "ref": lambda *args, **params: [],  # no outputs: it is called for its effect
            "order": 0,
        }
    ]
}

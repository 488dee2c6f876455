"""Control flow: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan`` and ``map``.

Each construct traces its Python functions into closed jaxprs and binds one higher-order
primitive whose parameters hold them, printed as JAX prints them; one module per primitive:

* ``cond.py``: ``cond[branches=(...)] index *operands``;
* ``scan.py``: ``scan[jaxpr={...} length num_carry num_consts reverse unroll] *consts *init *xs``;
* ``while_loop.py``: ``while[body_jaxpr body_nconsts cond_jaxpr cond_nconsts] *cond_consts
  *body_consts *init``.

Constants the bodies close over (arrays, and tracers of enclosing transformations) become leading
operands, so every interpreter sees them as ordinary arguments. Each primitive is one declaration
with its rules:

* ``impl``: the body run on raw values (``_common._executable``), in a Python loop for the loops;
* ``abstract``: the output types, read from the bodies (staging uses the default rule);
* ``eval``: ``impl``, with the outputs' weak types read from the bodies;
* ``vjp``: ``cond`` and ``scan`` split their bodies into forward and backward jaxprs
  (``partial_eval.vjp_split``), run a forward ``cond``/``scan`` one level down that also returns
  the residuals, and record one tape entry whose rule binds the backward ``cond``/``scan`` at the
  level the backward pass runs at — so an outer ``grad`` differentiates it again and ``jit``
  stages it. A ``while`` cannot be reversed (its trip count is not known in advance):
  differentiating through one records an entry that raises JAX's error when the backward pass
  reaches it.
"""

from pullback._hop.control_flow.cond import cond, cond_p, switch
from pullback._hop.control_flow.scan import map, scan, scan_p
from pullback._hop.control_flow.while_loop import fori_loop, while_loop, while_p

__all__ = [
    "cond",
    "switch",
    "while_loop",
    "fori_loop",
    "scan",
    "map",
    "cond_p",
    "scan_p",
    "while_p",
]

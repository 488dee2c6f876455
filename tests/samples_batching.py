"""Sample rows for the collectives (format at the top of ``test_primitives.py``)."""

SAMPLES = {
    name: [{"skip": "its parameter names a vmap axis; tested in tests/test_vmap.py"}]
    for name in ("psum", "pmax", "pmin", "axis_index")
}

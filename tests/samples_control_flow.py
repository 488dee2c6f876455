"""Sample rows for the control-flow primitives (format at the top of ``test_primitives.py``)."""

SAMPLES = {
    name: [{"skip": "its parameters are programs; tested in test_control_flow.py"}]
    for name in ("cond", "scan", "while")
}

"""Sample rows for the primitives of ``pure_callback`` (format at the top of
``test_primitives.py``)."""

SAMPLES = {
    "pure_callback": [
        {"skip": "its parameter is a user function: tests/test_callback.py"},
    ],
}

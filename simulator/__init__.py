"""A simulated region of hospital information systems (HIS) that answers the interface spec.

Independent of the gateway's own packages, so conformance tests against it prove something.
"""

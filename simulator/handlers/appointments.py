"""Patients' appointments and queues (24.1.5, 28.1.x, 29.x, 33.x, 15.1.3, 20.1.9, 26.1.1, 42.1.x)."""

from __future__ import annotations

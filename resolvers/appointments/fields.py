"""The patient's appointments of every kind and the queues they stand in."""

from __future__ import annotations

import strawberry


@strawberry.type
class PatientAppointmentFields:
    """Appointment and queue fields of Patient (15.1.3, 20.1.9, 24.1.5, 26.1.1, 28.1.x, 29.x, 33.x, 42.1.x)."""

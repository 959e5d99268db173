"""Patients' records: invoices, medical records, prescriptions, education, online doctors."""

from __future__ import annotations

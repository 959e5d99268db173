"""Writes about inpatients that move no money: caregiver passes (37.1.2-37.1.4)."""

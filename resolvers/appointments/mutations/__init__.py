"""Writes about appointments and triage that move no money (15.1.2, 24.1.4, 24.1.6-24.1.8, 42.1.2)."""

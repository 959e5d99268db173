"""Alembic migrations of the store (a package so that it ships with the wheel)."""

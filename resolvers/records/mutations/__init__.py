"""Writes about records that move no money: education signatures (23.1.3), consultation records (25.1.7)."""

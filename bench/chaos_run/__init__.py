"""The pieces of bench/chaos_payments.py: its processes, its patient, its faults and its verdict."""

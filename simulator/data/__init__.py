"""The simulated hospitals' in-memory data: patients, bills, stays, reports, schedules."""

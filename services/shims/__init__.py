"""What the hospital-facing shims do: the inbound ledger, queued messages to patients, card issuing."""

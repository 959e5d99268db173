"""What the operators' console reads and does over the ledger and the hospitals (issue 15 items 1-3 and 5)."""

"""Migration revisions, oldest first by their four-digit revision id."""

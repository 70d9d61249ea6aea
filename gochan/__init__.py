"""Go's concurrency model on Python threads."""

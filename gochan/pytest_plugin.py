"""gochan's pytest plugin (entry point ``gochan_leaks``): the goroutine leak checker.

Placeholder while the diagnostics issue lands; it registers nothing yet.
"""

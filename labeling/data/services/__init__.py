"""Writes of data in and out: import runs, their leases, the manifest reader, video frames."""

"""Writes of the console: bulk actions, thumbnails, live snapshots."""

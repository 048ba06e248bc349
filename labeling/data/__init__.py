"""Data in and out: imports, exports and their formats, spreadsheet-safe CSV."""

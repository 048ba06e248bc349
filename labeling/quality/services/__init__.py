"""Writes of label quality: reliability estimation, gold, scoring, the submit hooks."""

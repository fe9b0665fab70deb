"""Aggregates over both kinds of case: the staff dashboard and the public `stats/` API."""

"""Use cases over the backends: fleet status, connection checks. No Qt."""

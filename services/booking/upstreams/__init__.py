"""Booking's typed clients of the services it calls while a person waits."""

"""Event payloads and HTTP shapes that cross a service boundary, one module per producing service."""

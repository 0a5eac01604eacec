"""Booking service: carts, bookings, requests to book, modifications, cancellations, waitlist,
expert-assisted booking and affiliate links."""

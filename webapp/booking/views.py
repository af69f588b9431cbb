"""Booking pages: search, practitioner page, booking flow, my appointments, settings, agenda."""

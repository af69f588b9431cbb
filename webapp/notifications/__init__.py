"""Notifications: email (and SMS) messages caused by changes in the app."""

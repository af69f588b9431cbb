"""Tests of patient invitations and claims."""

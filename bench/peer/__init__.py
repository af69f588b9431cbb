"""`bench/run --peer`: django-appointment 3.12.0 in its own virtualenv, run on the same databases in the
same run (appointment_peer.py, by the peer's python), and its figures beside Carnet's (compare.py)."""

"""Signals sent by the notebook services inside the writing transaction.

Receivers (the notifications outbox, the shared-record connector) write in
the same unit of work, so a rolled-back write leaves nothing behind. Every
signal is sent with the app as sender and the objects as keyword arguments.
"""

from blinker import signal

# entry=NotebookEntry, actor=User: any new entry (a correction included)
entry_added = signal("notebook-entry-added")
# entry=NotebookEntry, actor=User: a new entry written by a practitioner (tell the patient)
practitioner_entry_added = signal("notebook-practitioner-entry-added")
# grant=EmergencyAccess, actor=User: a practitioner opened the notebook in an emergency (tell the patient)
emergency_access_granted = signal("notebook-emergency-access-granted")
# practitioner=PractitionerProfile, actor=User, last_grant_id=int | None, limit=int: an emergency
# access refused beyond the daily limit (alert the operator)
emergency_access_limit_reached = signal("notebook-emergency-access-limit-reached")

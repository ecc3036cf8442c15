"""Paging: who is on call, and what an unacknowledged page does next.

``oncall`` (rotations, overrides, iCalendar export) and ``escalation``
(policies, plan snapshots, the escalation state machine, when to page at all)
are pure: they take values, including ``now``, and return decisions. Storage,
the outbox worker and the notifiers live around them and pass time in.
"""

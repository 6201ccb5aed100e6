"""On-call schedules (``ops.models.oncall``), their changes, and the ``oncall`` channel kind.

A channel of kind ``oncall`` names a ``Schedule`` as its target; a message
sent to it goes, at send time (``ops.clock.now()``), to whoever is on call
then, through that person's ``ContactProfile`` (Slack DM or e-mail).
"""

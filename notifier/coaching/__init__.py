"""The coaching rhythm (issue 17): deadlines the provider's coach must keep for each referred
client (first contact, monthly contact, plan renewal), reminders to the coach, the weekly "your
clients" e-mail, and the end-of-service letter to the client.

The events are declared with the rest of the contract (`casework/events.py`: `Coach`,
`CoachAssigned`, `ClientContacted`, `PlanMade`, `ServiceEnded`); `planning.py` decides (pure, clock passed in),
`store.py` keeps each client's coaching state in Redis (`keys.py`), `handlers.py` joins them to
the webhook intake, `weekly.py` runs the Monday e-mail with the digest's exactly-once claims.
"""

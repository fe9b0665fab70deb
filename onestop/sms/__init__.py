"""SMS commands: the service for people with a basic phone and no app.

A telecom's SMS gateway relays each message sent to the service's number to
`POST /api/v1/sms/inbound/` (`onestop.sms.api`); the network has verified the sender's number.
`commands` reads the text (`TT <code>`, `PA <text>`, `HD`), `inbound` does what it asks and
queues the reply in the SMS outbox, sent after commit.
"""

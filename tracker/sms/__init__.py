"""Outgoing and incoming SMS: senders, outbox, inbound webhook, SMS check-in."""

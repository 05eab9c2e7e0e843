"""Enrich: topic, urgency, intent, language and locations for every inbound message."""

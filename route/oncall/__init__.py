"""On-call alerting: roster, alert policy, incidents, delivery (Alertmanager, webhooks), escalation."""

"""Route: department topics, urgent alerts, and the Elasticsearch index."""

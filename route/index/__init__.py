"""The Elasticsearch index of every message: names, template and the bulk sink."""

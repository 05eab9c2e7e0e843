"""Reports for the organisation, computed from the index."""

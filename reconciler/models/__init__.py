"""The functional core's data: desired-state schema, normalised resources, live records."""

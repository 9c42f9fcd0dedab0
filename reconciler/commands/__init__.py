"""Command bodies: each composes loader, pipeline, core and apply for one CLI command."""

"""Drone 2.x: `client` (one method per endpoint), `read` (fetch + pure parse), `write` (one
planned change -> calls). Never imports the Bitbucket provider."""

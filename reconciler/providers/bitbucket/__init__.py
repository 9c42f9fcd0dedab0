"""Bitbucket Cloud 2.0: `client` (one method per endpoint), `read` (fetch + pure parse),
`write` (one planned change -> calls). Never imports the Drone provider."""

"""A faithful local emulator of Bitbucket Cloud API 2.0 and the Drone 2.x API, on one loopback port.

Written from ``../shared/reference/bitbucket-cloud/API.md`` and ``../shared/reference/drone/API.md``
only; it imports nothing else from ``reconciler`` so a client's misreading is not mirrored here.

Layout of one sandbox URL::

    /bitbucket/2.0/...                      Bitbucket Cloud REST API (Basic email+API token, Bearer)
    /bitbucket/site/oauth2/access_token     OAuth 2 token endpoint (client_credentials, refresh)
    /drone/api/..., /drone/hook             Drone API (Bearer token) and its webhook receiver
    /drone/healthz, /drone/version
    /_sandbox/...                           control API, no auth (see control.py)

Use::

    from reconciler.sandbox import Sandbox, EXAMPLE_SEED, load_seed
    sb = Sandbox.start(load_seed(EXAMPLE_SEED))   # threaded server on 127.0.0.1, random port
    sb.env()    # BITBUCKET_API_URL, BITBUCKET_OAUTH_URL, BITBUCKET_USERNAME, BITBUCKET_API_TOKEN,
                # DRONE_SERVER, DRONE_TOKEN
    sb.stop()

The seed/state format is documented in ``SEED.md`` next to this file.
"""

from __future__ import annotations

from .seed import EXAMPLE_SEED, SeedError, load_seed
from .server import Sandbox, serve_forever
from .state import SandboxState

__all__ = ["EXAMPLE_SEED", "Sandbox", "SandboxState", "SeedError", "load_seed", "serve_forever"]

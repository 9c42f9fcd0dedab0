"""A declarative GitOps reconciler for Drone CI on Bitbucket Cloud."""

__version__ = "0.1.0"

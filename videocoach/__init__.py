"""videocoach: recorded lessons as the shared object of instructional coaching."""

from videocoach.app import create_app

__all__ = ["create_app"]

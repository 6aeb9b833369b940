"""The warm path: a query handed to a running daemon that has the model loaded, or run
here when none answers."""

__all__ = ["answer", "client", "server"]

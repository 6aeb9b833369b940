"""The warm path: a query handed to a running daemon that has the model loaded (client,
server, and the protocol between them), or run here when none answers (answer); lean
says how its client starts fast."""

__all__ = ["answer", "client", "lean", "protocol", "server"]

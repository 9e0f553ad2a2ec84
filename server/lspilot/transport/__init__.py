"""The JSON-RPC transport under the server: what pygls does not get right for us by itself.

`protocol.LspilotProtocol` answers malformed messages instead of popping up errors, shuts down
without "dictionary changed size during iteration" and sends nothing once the client said
`exit`; `stdio.serve_stdio` reads stdin in a daemon thread, so a pending read never keeps the
process alive after `exit` or Ctrl-C.
"""

from __future__ import annotations

from lspilot.transport.protocol import LspilotProtocol
from lspilot.transport.stdio import serve_stdio

__all__ = ["LspilotProtocol", "serve_stdio"]

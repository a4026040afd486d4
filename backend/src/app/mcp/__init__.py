"""The MCP server: a user's projects, read-only, for coding agents (Streamable HTTP at ``/mcp``;
``jeex-idea mcp`` bridges a local agent's stdio to it)."""

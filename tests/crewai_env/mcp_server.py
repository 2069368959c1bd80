"""An MCP server (the ``mcp`` SDK's FastMCP) over stdio, for ``MCPServerAdapter``."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("tides")


@server.tool()
def tide_height(harbour: str) -> str:
    """The tide height at a harbour."""
    return f"TIDE at {harbour[:40]}: 4.2 metres"


if __name__ == "__main__":
    server.run("stdio")

"""The MCP server of the tool round-trip bench: one ``Lookup`` tool, over stdio."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("bench", log_level="WARNING")


@server.tool(name="Lookup", description="Looks a topic up in the knowledge base.")
async def lookup(query: str) -> str:
    return f"three facts about {query[:40]}"


if __name__ == "__main__":
    server.run("stdio")

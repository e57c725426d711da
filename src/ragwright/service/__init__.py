"""Service-side state shared by the HTTP and MCP front doors: API keys and the tenants they resolve to."""

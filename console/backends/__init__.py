"""One module per external system: async httpx clients that return domain objects. No Qt."""

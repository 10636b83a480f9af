"""The bridge between the asyncio I/O loop and Qt."""

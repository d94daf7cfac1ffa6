"""The aiohttp REST API."""

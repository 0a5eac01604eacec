"""The gateway: the only door clients use. Identity, authorization of routes, rate limits,
proxying to the owning service and the merged OpenAPI document."""

"""Analytics service: the read model of everything that happened: revenue, conversion, forecasts."""

"""Inventory service: the catalog, schedules, slots, prices, seat holds and the live availability feed."""

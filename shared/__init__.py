"""The project's own library: the plumbing every service and the gateway share."""

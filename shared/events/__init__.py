"""Events between services: the envelope, the registry, the outbox relay and the consumer."""

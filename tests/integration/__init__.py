"""Tests that run parts of more than one package together (a service with the shared plumbing,
or two services' apps) without starting the whole platform: the only tests besides the
end-to-end ones that may import more than one service."""

"""Development tooling: runs the whole platform on one machine (`make up`) and the test suite
against real infrastructure (`make test`)."""

"""Helpers shared by the test suites: loopback servers, real worker processes, service checks."""

"""The entry points: the command line, the Lambda handlers, and the wiring of adapters to the service."""

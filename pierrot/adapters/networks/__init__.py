"""The social networks: one module each."""

"""The adapters: each wraps one outside system behind a port (Flickr, the images, the stores, the networks)."""

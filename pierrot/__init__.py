"""pierrot: post a never-posted photo from a Flickr photostream to X, on a schedule."""

__version__ = "0.1.0"

"""pierrot: post a never-posted photo from a Flickr photostream to social networks, on a schedule."""

__version__ = "0.1.0"

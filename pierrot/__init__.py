"""pierrot: post a never-posted photo from a Flickr photostream to X, Bluesky, Mastodon or Threads, on a schedule."""

__version__ = "0.1.0"

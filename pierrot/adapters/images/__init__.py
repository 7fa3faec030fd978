"""Images: downloading a photo's sizes from Flickr, and removing what could tell where it was taken."""

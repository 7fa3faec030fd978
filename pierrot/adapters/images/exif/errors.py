"""The one failure the stripper reports."""


class ImageRefused(ValueError):
    """The image cannot be rebuilt without what could locate it: it must not be posted."""

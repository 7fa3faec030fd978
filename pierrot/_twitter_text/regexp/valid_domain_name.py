from .valid_domain_chars import valid_domain_chars
from ..regex_supplant import regex_supplant

valid_domain_name = regex_supplant(
    # pierrot: a label of at most 63 characters, taken whole (see VENDORED.md).
    r'(?:(?>#{valid_domain_chars}(?:-|#{valid_domain_chars}){0,62})(?<=#{valid_domain_chars})\.)',
    {
        'valid_domain_chars': valid_domain_chars
    }
)

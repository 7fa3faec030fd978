"""pierrot: the top-level domain alternations as tries, which match exactly what the lists match (VENDORED.md)."""
import re
from typing import Dict, List, Pattern


def _names(pattern: Pattern) -> List[str]:
    # The vendored lists read '(?:(?:name|name|...)(?=<after>))'.
    body = pattern.pattern[len('(?:(?:'):pattern.pattern.rindex(')(?=')]
    return body.split('|')


def _after(pattern: Pattern) -> str:
    return pattern.pattern[pattern.pattern.rindex(')(?='):][1:-1]


def _check_order(names: List[str]) -> None:
    # The lists put a longer name before every name that starts it ('comcast' before 'com'), so the first name
    # the text allows is the longest; the trie tries the longer names first at every node, as they did.
    position = {name: i for i, name in enumerate(names)}
    for name in names:
        for end in range(1, len(name)):
            if name[:end] in position and position[name[:end]] < position[name]:
                raise ValueError('%r comes before %r' % (name[:end], name))


def _trie(names: List[str]) -> str:
    tree: Dict = {}
    for name in names:
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[''] = {}
    return _alternation(tree)


def _alternation(node: Dict) -> str:
    branches = [re.escape(char) + _alternation(child) for char, child in sorted(node.items(), reverse=True) if char]
    if '' in node:
        branches.append('')  # the name ending here is tried after every longer one
    if len(branches) == 1:
        return branches[0]
    return '(?:' + '|'.join(branches) + ')'


def tld_trie(pattern: Pattern) -> Pattern:
    """The same alternation as ``pattern`` (valid_gtld, valid_cctld), as a trie: a few tries per character."""
    names = _names(pattern)
    _check_order(names)
    return re.compile('(?:' + _trie(names) + '(?=' + _after(pattern) + '))', pattern.flags)

"""``{% private_lookup_trust as trust %}``: what the home page's private check trusts.

The page carries the log's verifier key and its newest signed checkpoint, so the script
can check the range manifest's signature and bind it to that checkpoint (equal, or
extending it by a consistency proof) before it believes any range file, as the
command-line client does with its pinned key and state (docs/mirroring.md).
"""

from __future__ import annotations

import base64

from django import template

from registry.checkpoints import checkpoint_head, verifier_key
from registry.ranges_format import FORMAT_LINE

register = template.Library()


@register.simple_tag
def private_lookup_trust() -> dict[str, object]:
    # The newest published checkpoint, read without signing one: before the first, the
    # page trusts any manifest its key signed (size 0 is extended by every tree).
    size, root = checkpoint_head() or (0, b"")
    return {
        "log_key": verifier_key(),
        "checkpoint_size": size,
        "checkpoint_root": base64.b64encode(root).decode(),
        "range_format": FORMAT_LINE,
    }

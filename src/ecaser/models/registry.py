"""Every attention module the CNN can place after a block, by the key params.yaml's attention.types uses.

One line a module, in the report's order: a new module is its class in attention.py, a line here and its key in
params.yaml. The CNN builds from this table, and params validation, the report's tables and the command line's help
read it; it imports no torch, so that listing the modules costs the command line nothing.
"""

from collections import namedtuple

Module = namedtuple("Module", ["cls", "label", "last_block"], defaults=[False])
# cls: the class's name in attention.py (ECA takes the kernel, every other class the block's channels);
# label: its name in the report; last_block: placed after the last block only, not where the proposed model has ECA

ATTENTION = {
    "eca": Module("ECA", "ECA"),
    "se": Module("SE", "SE"),
    "cbam": Module("CBAM", "CBAM"),
    "mhsa": Module("MHSA", "MHSA"),
    "area": Module("AreaAttention", "area attention", last_block=True),  # Xu et al. attend over the final map
    "head_fusion": Module("HeadFusion", "head fusion"),
    "stc": Module("STC", "STC"),
}


def label(key):
    """A module's name in the report: its label, or its key where the table has it no more (a results folder left
    from a module since removed)."""
    return ATTENTION[key].label if key in ATTENTION else key

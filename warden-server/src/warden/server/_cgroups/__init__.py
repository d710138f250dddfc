"""Container cgroups for resource limits and statistics, on cgroup v1 and v2.

The layout is the one docs/architecture.md fixes: v1 keeps each controller's
``<root>/<controller>/<cgroup_parent>/instance-<id>``, v2 the single
``<root>/<cgroup_parent>/instance-<id>``. The container backend creates and
removes the directories; this package only reads and writes control files.
"""

from ._detect import DEFAULT_CGROUP_ROOT, cgroup_version, container_cgroup
from ._files import UNLIMITED
from ._interface import ContainerCgroup, CpuUsage, OomWatch
from ._v1 import CgroupV1
from ._v2 import CgroupV2, shares_to_weight, weight_to_shares

__all__ = [
    "ContainerCgroup",
    "CgroupV1",
    "CgroupV2",
    "CpuUsage",
    "OomWatch",
    "DEFAULT_CGROUP_ROOT",
    "UNLIMITED",
    "cgroup_version",
    "container_cgroup",
    "shares_to_weight",
    "weight_to_shares",
]

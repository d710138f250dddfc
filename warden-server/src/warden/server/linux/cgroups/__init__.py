"""Container cgroups: the layout, host preparation, limits and statistics, on v1 and v2.

``_layout`` is the one description of where cgroups are: v1 keeps each
controller's ``<mount>/<cgroup_parent>/instance-<id>``, v2 the single
``<root>/<cgroup_parent>/instance-<id>``; the root scripts get the paths from
it (``ContainerCgroupDirs.script_env``). ``_host`` makes the host ready at
server start and a v2 container's cgroup (with its device filter,
``_devices``) before it starts; the limits code reads and writes control
files through ``ContainerCgroup``, and ``_oom`` tells it when the OOM killer
acted (v1: an eventfd; v2: inotify on ``memory.events``).
"""

from ._detect import DEFAULT_CGROUP_ROOT, cgroup_version, container_cgroup, host_layout
from ._devices import DEVICE_RULES, V1_DEVICE_RULES, attach_device_filter, attached_device_programs
from ._files import UNLIMITED
from ._host import CgroupSetupError, prepare_container, prepare_host
from ._interface import ContainerCgroup, CpuUsage, OomWatch
from ._layout import V1_CONTROLLERS, V2_CONTROLLERS, CgroupLayout, ContainerCgroupDirs
from ._oom import EventfdOomWatch, FileWatcher, MemoryEventsOomWatch
from ._v1 import CgroupV1
from ._v2 import DEFAULT_SHARES, CgroupV2, shares_to_weight, weight_to_shares

__all__ = [
    "CgroupLayout",
    "CgroupSetupError",
    "ContainerCgroup",
    "ContainerCgroupDirs",
    "CgroupV1",
    "CgroupV2",
    "CpuUsage",
    "DEFAULT_CGROUP_ROOT",
    "DEFAULT_SHARES",
    "DEVICE_RULES",
    "EventfdOomWatch",
    "FileWatcher",
    "MemoryEventsOomWatch",
    "OomWatch",
    "UNLIMITED",
    "V1_CONTROLLERS",
    "V1_DEVICE_RULES",
    "V2_CONTROLLERS",
    "attach_device_filter",
    "attached_device_programs",
    "cgroup_version",
    "container_cgroup",
    "host_layout",
    "prepare_container",
    "prepare_host",
    "shares_to_weight",
    "weight_to_shares",
]

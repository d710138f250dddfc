"""The Linux backend, in one package: real containers (namespaces, cgroups, an overlay root).

``LinuxContainer`` (``_container.py``) decides which script of
``root-scripts/linux/`` runs when; creation's environment is ``_create.py``,
networking ``_net.py`` and ``_net_rules.py``, resource limits ``_limits.py``
with the disk quota backends in ``_disk/``, and everything cgroup in
``cgroups/``: the layout (v1, hybrid, v2) the scripts are given, host
preparation, the v2 device filter, control files and OOM notification.
"""

from ._container import INIT_DIED, LinuxContainer

__all__ = ["INIT_DIED", "LinuxContainer"]

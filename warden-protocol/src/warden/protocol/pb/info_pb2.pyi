from warden.protocol.pb import properties_pb2 as _properties_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InfoRequest(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("state", "events", "host_ip", "container_ip", "container_path", "memory_stat", "cpu_stat", "disk_stat", "bandwidth_stat", "job_ids", "properties")
    class MemoryStat(_message.Message):
        __slots__ = ("cache", "rss", "mapped_file", "pgpgin", "pgpgout", "swap", "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit", "total_cache", "total_rss", "total_mapped_file", "total_pgpgin", "total_pgpgout", "total_swap", "total_pgfault", "total_pgmajfault", "total_inactive_anon", "total_active_anon", "total_inactive_file", "total_active_file", "total_unevictable")
        CACHE_FIELD_NUMBER: _ClassVar[int]
        RSS_FIELD_NUMBER: _ClassVar[int]
        MAPPED_FILE_FIELD_NUMBER: _ClassVar[int]
        PGPGIN_FIELD_NUMBER: _ClassVar[int]
        PGPGOUT_FIELD_NUMBER: _ClassVar[int]
        SWAP_FIELD_NUMBER: _ClassVar[int]
        PGFAULT_FIELD_NUMBER: _ClassVar[int]
        PGMAJFAULT_FIELD_NUMBER: _ClassVar[int]
        INACTIVE_ANON_FIELD_NUMBER: _ClassVar[int]
        ACTIVE_ANON_FIELD_NUMBER: _ClassVar[int]
        INACTIVE_FILE_FIELD_NUMBER: _ClassVar[int]
        ACTIVE_FILE_FIELD_NUMBER: _ClassVar[int]
        UNEVICTABLE_FIELD_NUMBER: _ClassVar[int]
        HIERARCHICAL_MEMORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
        HIERARCHICAL_MEMSW_LIMIT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_CACHE_FIELD_NUMBER: _ClassVar[int]
        TOTAL_RSS_FIELD_NUMBER: _ClassVar[int]
        TOTAL_MAPPED_FILE_FIELD_NUMBER: _ClassVar[int]
        TOTAL_PGPGIN_FIELD_NUMBER: _ClassVar[int]
        TOTAL_PGPGOUT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_SWAP_FIELD_NUMBER: _ClassVar[int]
        TOTAL_PGFAULT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_PGMAJFAULT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_INACTIVE_ANON_FIELD_NUMBER: _ClassVar[int]
        TOTAL_ACTIVE_ANON_FIELD_NUMBER: _ClassVar[int]
        TOTAL_INACTIVE_FILE_FIELD_NUMBER: _ClassVar[int]
        TOTAL_ACTIVE_FILE_FIELD_NUMBER: _ClassVar[int]
        TOTAL_UNEVICTABLE_FIELD_NUMBER: _ClassVar[int]
        cache: int
        rss: int
        mapped_file: int
        pgpgin: int
        pgpgout: int
        swap: int
        pgfault: int
        pgmajfault: int
        inactive_anon: int
        active_anon: int
        inactive_file: int
        active_file: int
        unevictable: int
        hierarchical_memory_limit: int
        hierarchical_memsw_limit: int
        total_cache: int
        total_rss: int
        total_mapped_file: int
        total_pgpgin: int
        total_pgpgout: int
        total_swap: int
        total_pgfault: int
        total_pgmajfault: int
        total_inactive_anon: int
        total_active_anon: int
        total_inactive_file: int
        total_active_file: int
        total_unevictable: int
        def __init__(self, cache: _Optional[int] = ..., rss: _Optional[int] = ..., mapped_file: _Optional[int] = ..., pgpgin: _Optional[int] = ..., pgpgout: _Optional[int] = ..., swap: _Optional[int] = ..., pgfault: _Optional[int] = ..., pgmajfault: _Optional[int] = ..., inactive_anon: _Optional[int] = ..., active_anon: _Optional[int] = ..., inactive_file: _Optional[int] = ..., active_file: _Optional[int] = ..., unevictable: _Optional[int] = ..., hierarchical_memory_limit: _Optional[int] = ..., hierarchical_memsw_limit: _Optional[int] = ..., total_cache: _Optional[int] = ..., total_rss: _Optional[int] = ..., total_mapped_file: _Optional[int] = ..., total_pgpgin: _Optional[int] = ..., total_pgpgout: _Optional[int] = ..., total_swap: _Optional[int] = ..., total_pgfault: _Optional[int] = ..., total_pgmajfault: _Optional[int] = ..., total_inactive_anon: _Optional[int] = ..., total_active_anon: _Optional[int] = ..., total_inactive_file: _Optional[int] = ..., total_active_file: _Optional[int] = ..., total_unevictable: _Optional[int] = ...) -> None: ...
    class CpuStat(_message.Message):
        __slots__ = ("usage", "user", "system")
        USAGE_FIELD_NUMBER: _ClassVar[int]
        USER_FIELD_NUMBER: _ClassVar[int]
        SYSTEM_FIELD_NUMBER: _ClassVar[int]
        usage: int
        user: int
        system: int
        def __init__(self, usage: _Optional[int] = ..., user: _Optional[int] = ..., system: _Optional[int] = ...) -> None: ...
    class DiskStat(_message.Message):
        __slots__ = ("bytes_used", "inodes_used")
        BYTES_USED_FIELD_NUMBER: _ClassVar[int]
        INODES_USED_FIELD_NUMBER: _ClassVar[int]
        bytes_used: int
        inodes_used: int
        def __init__(self, bytes_used: _Optional[int] = ..., inodes_used: _Optional[int] = ...) -> None: ...
    class BandwidthStat(_message.Message):
        __slots__ = ("in_rate", "in_burst", "out_rate", "out_burst")
        IN_RATE_FIELD_NUMBER: _ClassVar[int]
        IN_BURST_FIELD_NUMBER: _ClassVar[int]
        OUT_RATE_FIELD_NUMBER: _ClassVar[int]
        OUT_BURST_FIELD_NUMBER: _ClassVar[int]
        in_rate: int
        in_burst: int
        out_rate: int
        out_burst: int
        def __init__(self, in_rate: _Optional[int] = ..., in_burst: _Optional[int] = ..., out_rate: _Optional[int] = ..., out_burst: _Optional[int] = ...) -> None: ...
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HOST_IP_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_IP_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_PATH_FIELD_NUMBER: _ClassVar[int]
    MEMORY_STAT_FIELD_NUMBER: _ClassVar[int]
    CPU_STAT_FIELD_NUMBER: _ClassVar[int]
    DISK_STAT_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_STAT_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    state: str
    events: _containers.RepeatedScalarFieldContainer[str]
    host_ip: str
    container_ip: str
    container_path: str
    memory_stat: InfoResponse.MemoryStat
    cpu_stat: InfoResponse.CpuStat
    disk_stat: InfoResponse.DiskStat
    bandwidth_stat: InfoResponse.BandwidthStat
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    properties: _containers.RepeatedCompositeFieldContainer[_properties_pb2.Property]
    def __init__(self, state: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., host_ip: _Optional[str] = ..., container_ip: _Optional[str] = ..., container_path: _Optional[str] = ..., memory_stat: _Optional[_Union[InfoResponse.MemoryStat, _Mapping]] = ..., cpu_stat: _Optional[_Union[InfoResponse.CpuStat, _Mapping]] = ..., disk_stat: _Optional[_Union[InfoResponse.DiskStat, _Mapping]] = ..., bandwidth_stat: _Optional[_Union[InfoResponse.BandwidthStat, _Mapping]] = ..., job_ids: _Optional[_Iterable[int]] = ..., properties: _Optional[_Iterable[_Union[_properties_pb2.Property, _Mapping]]] = ...) -> None: ...

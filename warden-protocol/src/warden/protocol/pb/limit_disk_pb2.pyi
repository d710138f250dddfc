from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LimitDiskRequest(_message.Message):
    __slots__ = ("handle", "block_limit", "block", "block_soft", "block_hard", "inode_limit", "inode", "inode_soft", "inode_hard", "byte_limit", "byte", "byte_soft", "byte_hard")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_LIMIT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SOFT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HARD_FIELD_NUMBER: _ClassVar[int]
    INODE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    INODE_FIELD_NUMBER: _ClassVar[int]
    INODE_SOFT_FIELD_NUMBER: _ClassVar[int]
    INODE_HARD_FIELD_NUMBER: _ClassVar[int]
    BYTE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    BYTE_FIELD_NUMBER: _ClassVar[int]
    BYTE_SOFT_FIELD_NUMBER: _ClassVar[int]
    BYTE_HARD_FIELD_NUMBER: _ClassVar[int]
    handle: str
    block_limit: int
    block: int
    block_soft: int
    block_hard: int
    inode_limit: int
    inode: int
    inode_soft: int
    inode_hard: int
    byte_limit: int
    byte: int
    byte_soft: int
    byte_hard: int
    def __init__(self, handle: _Optional[str] = ..., block_limit: _Optional[int] = ..., block: _Optional[int] = ..., block_soft: _Optional[int] = ..., block_hard: _Optional[int] = ..., inode_limit: _Optional[int] = ..., inode: _Optional[int] = ..., inode_soft: _Optional[int] = ..., inode_hard: _Optional[int] = ..., byte_limit: _Optional[int] = ..., byte: _Optional[int] = ..., byte_soft: _Optional[int] = ..., byte_hard: _Optional[int] = ...) -> None: ...

class LimitDiskResponse(_message.Message):
    __slots__ = ("block_limit", "block", "block_soft", "block_hard", "inode_limit", "inode", "inode_soft", "inode_hard", "byte_limit", "byte", "byte_soft", "byte_hard")
    BLOCK_LIMIT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SOFT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HARD_FIELD_NUMBER: _ClassVar[int]
    INODE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    INODE_FIELD_NUMBER: _ClassVar[int]
    INODE_SOFT_FIELD_NUMBER: _ClassVar[int]
    INODE_HARD_FIELD_NUMBER: _ClassVar[int]
    BYTE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    BYTE_FIELD_NUMBER: _ClassVar[int]
    BYTE_SOFT_FIELD_NUMBER: _ClassVar[int]
    BYTE_HARD_FIELD_NUMBER: _ClassVar[int]
    block_limit: int
    block: int
    block_soft: int
    block_hard: int
    inode_limit: int
    inode: int
    inode_soft: int
    inode_hard: int
    byte_limit: int
    byte: int
    byte_soft: int
    byte_hard: int
    def __init__(self, block_limit: _Optional[int] = ..., block: _Optional[int] = ..., block_soft: _Optional[int] = ..., block_hard: _Optional[int] = ..., inode_limit: _Optional[int] = ..., inode: _Optional[int] = ..., inode_soft: _Optional[int] = ..., inode_hard: _Optional[int] = ..., byte_limit: _Optional[int] = ..., byte: _Optional[int] = ..., byte_soft: _Optional[int] = ..., byte_hard: _Optional[int] = ...) -> None: ...

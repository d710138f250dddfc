"""Pools of networks, ports and uids."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from warden.server import ConfigError
from warden.server._pools import NetworkPool, Pool, PoolExhaustedError, PortPool, UidPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_acquire_in_order_until_exhausted() -> None:
    pool = Pool([1, 2, 3])
    assert [pool.acquire() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(PoolExhaustedError):
        pool.acquire()


def test_release_delay_and_head_of_line() -> None:
    clock = Clock()
    pool = Pool([1, 2], release_delay=5, clock=clock)
    assert pool.acquire() == 1
    pool.release(1)  # to the tail, usable in 5 s
    assert pool.acquire() == 2
    with pytest.raises(PoolExhaustedError):
        pool.acquire()  # 1 is not available yet
    clock.now += 5
    assert pool.acquire() == 1


def test_release_is_idempotent_and_ignores_strangers() -> None:
    pool = Pool([1, 2])
    taken = pool.acquire()
    pool.release(taken)
    pool.release(taken)
    pool.release(99)
    assert len(pool) == 2
    assert sorted(pool.acquire() for _ in range(2)) == [1, 2]


def test_fetch_and_delete() -> None:
    pool = Pool([1, 2, 3])
    assert pool.fetch(2) is True
    assert pool.fetch(2) is False
    pool.delete(3)
    assert [pool.acquire()] == [1]
    with pytest.raises(PoolExhaustedError):
        pool.acquire()


def test_network_pool_hands_out_slash_30s() -> None:
    pool = NetworkPool("10.0.0.3/29", release_delay=0)
    assert len(pool) == 2
    assert [str(pool.acquire()), str(pool.acquire())] == ["10.0.0.0", "10.0.0.4"]
    with pytest.raises(PoolExhaustedError, match="no network available"):
        pool.acquire()
    assert len(NetworkPool("10.0.0.0/31")) == 0
    assert NetworkPool.subnet_of("10.1.2.7") == ipaddress.IPv4Address("10.1.2.4")


@pytest.mark.parametrize("text", ["10.0.0.0", "10.0.0.0/33", "x/24"])
def test_network_pool_rejects_bad_networks(text: str) -> None:
    with pytest.raises(ConfigError, match=r"Invalid address/netmask \(require: 1.2.3.4/5\)"):
        NetworkPool(text)


def test_port_pool() -> None:
    pool = PortPool(50000, 1000)
    assert pool.acquire() == 50000
    for _ in range(999):
        pool.acquire()
    with pytest.raises(PoolExhaustedError, match="no port available"):
        pool.acquire()
    with pytest.raises(ConfigError, match=r"expected >= 1000, got: 999"):
        PortPool(50000, 999)


def test_uid_pool(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0::/root:/bin/bash\nbob:x:20005:20005::/home/bob:/bin/sh\n")
    pool = UidPool(30000, 1, passwd=str(passwd))
    assert pool.acquire() == 30000
    with pytest.raises(PoolExhaustedError, match="no uid available"):
        pool.acquire()
    with pytest.raises(ConfigError, match="UID in user pool overlaps with user in /etc/passwd"):
        UidPool(20000, 10, passwd=str(passwd))

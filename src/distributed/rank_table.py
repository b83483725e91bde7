"""HCCL rank tables (Ascend multi-device training): read, validate, pick this server's devices.

The v1.0 format written by MindSpore's ``hccl_tools.py``::

    {"version": "1.0", "server_count": "1", "status": "completed",
     "server_list": [{"server_id": "10.0.0.1", "host_nic_ip": "reserve",
                      "device": [{"device_id": "0", "device_ip": "192.168.100.101", "rank_id": "0"}, ...]}]}

HCCL itself reports a bad table late (at ``init()``, after every process has
started) and cryptically, so the launch script validates it first; each
problem stops with one line naming the file and what is wrong.

    python -m src.distributed.rank_table RANK_TABLE_FILE [--server_id IP] [--rank_size]

prints ``RANK_ID DEVICE_ID`` for each device of this server (one process to
start per line), or with ``--rank_size`` the number of ranks in the table.
This server is the table's only one, the one named by ``--server_id``
(``SERVER_ID`` in the launch script), or the one whose ``server_id`` is an IP
address of this host.
"""
import argparse
import ipaddress
import json
import socket
import sys
from dataclasses import dataclass
from typing import Tuple

SUPPORTED_VERSION = "1.0"


class RankTableError(ValueError):
    """A missing, malformed or inconsistent rank table; the message names the file."""


@dataclass(frozen=True)
class Device:
    rank_id: int
    device_id: int
    device_ip: str


@dataclass(frozen=True)
class Server:
    server_id: str
    devices: Tuple[Device, ...]


@dataclass(frozen=True)
class RankTable:
    path: str
    servers: Tuple[Server, ...]

    @property
    def rank_size(self):
        return sum(len(s.devices) for s in self.servers)


def _int(value, where, fail):
    """HCCL writes numbers as strings ("3"); accept both, nothing else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        fail(f"{where} must be an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        fail(f"{where} must be an integer, got {value!r}")
    if number < 0:
        fail(f"{where} must not be negative, got {number}")
    return number


def _ipv4(value, where, fail):
    """A device NIC address as hccl_tools.py writes it: dotted-quad IPv4 (HCCL takes no names or IPv6)."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        fail(f"{where} must be an IPv4 address such as 192.168.100.101 (the device's NIC, as hccl_tools.py "
             f"writes it), got {value!r}")


def _require(obj, keys, where, fail):
    if not isinstance(obj, dict):
        fail(f"{where} must be a JSON object, got {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        fail(f"{where} has no {', '.join(repr(k) for k in missing)}")


def parse_rank_table(text, path="<rank table>"):
    """Validate the JSON ``text`` of a v1.0 rank table; returns a :class:`RankTable`."""
    def fail(message):
        raise RankTableError(f"rank table {path}: {message}")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}")
    _require(data, ("server_count", "server_list", "status"), "the top level", fail)
    version = str(data.get("version", SUPPORTED_VERSION))
    if version != SUPPORTED_VERSION:
        fail(f"version {version!r} is not supported (expected the HCCL v{SUPPORTED_VERSION} format)")
    if data["status"] != "completed":
        fail(f"status is {data['status']!r}, expected 'completed' (was the table fully generated?)")
    server_list = data["server_list"]
    if not isinstance(server_list, list) or not server_list:
        fail("server_list must be a non-empty list")
    server_count = _int(data["server_count"], "server_count", fail)
    if server_count != len(server_list):
        fail(f"server_count is {server_count} but server_list has {len(server_list)} servers")

    servers, seen_servers, seen_ranks, seen_ips = [], {}, {}, {}
    for i, entry in enumerate(server_list):
        where = f"server_list[{i}]"
        _require(entry, ("server_id", "device"), where, fail)
        server_id = entry["server_id"]
        if not isinstance(server_id, str) or not server_id:
            fail(f"{where}.server_id must be a non-empty string")
        if server_id in seen_servers:
            fail(f"server_id {server_id} appears twice ({seen_servers[server_id]} and {where})")
        seen_servers[server_id] = where
        if not isinstance(entry["device"], list) or not entry["device"]:
            fail(f"{where}.device must be a non-empty list")
        devices, seen_ids = [], {}
        for j, dev in enumerate(entry["device"]):
            dwhere = f"{where}.device[{j}]"
            _require(dev, ("device_id", "device_ip", "rank_id"), dwhere, fail)
            device = Device(_int(dev["rank_id"], f"{dwhere}.rank_id", fail),
                            _int(dev["device_id"], f"{dwhere}.device_id", fail),
                            _ipv4(dev["device_ip"], f"{dwhere}.device_ip", fail))
            for key, value, seen in (("device_id", device.device_id, seen_ids),
                                     ("rank_id", device.rank_id, seen_ranks),
                                     ("device_ip", device.device_ip, seen_ips)):
                if value in seen:
                    fail(f"duplicate {key} {value} ({seen[value]} and {dwhere})")
                seen[value] = dwhere
            devices.append(device)
        servers.append(Server(server_id, tuple(devices)))

    ranks = sorted(seen_ranks)
    if ranks != list(range(len(ranks))):
        absent = sorted(set(range(len(ranks))) - set(ranks))
        fail(f"rank_ids must be 0..{len(ranks) - 1}, got {ranks} (missing {absent})")
    return RankTable(path, tuple(servers))


def load_rank_table(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise RankTableError(f"rank table {path}: cannot read it ({e.strerror})") from None
    return parse_rank_table(text, path)


def _host_addresses():
    """This host's names and IP addresses (what a server_id may be)."""
    names = {socket.gethostname(), socket.getfqdn()}
    addresses = set(names)
    for name in names:
        try:
            addresses.update(info[4][0] for info in socket.getaddrinfo(name, None))
        except OSError:
            pass
    return addresses


def this_server(table, server_id=None, host_addresses=None):
    """The :class:`Server` this host runs (see the module docstring)."""
    ids = [s.server_id for s in table.servers]
    if server_id:
        for server in table.servers:
            if server.server_id == server_id:
                return server
        raise RankTableError(f"rank table {table.path}: no server_id {server_id} (it has {', '.join(ids)})")
    if len(table.servers) == 1:
        return table.servers[0]
    addresses = _host_addresses() if host_addresses is None else set(host_addresses)
    matches = [s for s in table.servers if s.server_id in addresses]
    if len(matches) != 1:
        raise RankTableError(f"rank table {table.path}: cannot tell which of the servers {', '.join(ids)} "
                             f"this host is; set SERVER_ID (--server_id) to one of them")
    return matches[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validate an HCCL v1.0 rank table; print this server's "
                                                 "'RANK_ID DEVICE_ID' pairs")
    parser.add_argument("rank_table")
    parser.add_argument("--server_id", default=None, help="this server's server_id (default: detected)")
    parser.add_argument("--rank_size", action="store_true", help="print the number of ranks instead")
    args = parser.parse_args(argv)
    try:
        table = load_rank_table(args.rank_table)
        if args.rank_size:
            print(table.rank_size)
            return
        for device in sorted(this_server(table, args.server_id).devices, key=lambda d: d.rank_id):
            print(device.rank_id, device.device_id)
    except RankTableError as e:
        sys.exit(str(e))


if __name__ == "__main__":
    main()

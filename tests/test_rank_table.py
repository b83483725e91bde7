"""HCCL rank tables: parsing, validation with one-line errors, this server's devices,
and the Ascend launch script's validation and dry run."""
import json
import os
import subprocess
import sys

import pytest

from src.distributed.rank_table import RankTableError, load_rank_table, parse_rank_table, this_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table(servers=(("10.0.0.1", 8),), **top):
    """A v1.0 rank table as hccl_tools.py writes it (numbers as strings)."""
    rank, server_list = 0, []
    for s, (server_id, n) in enumerate(servers):
        devices = []
        for d in range(n):
            devices.append({"device_id": str(d), "device_ip": f"192.168.{s}.{100 + d}", "rank_id": str(rank)})
            rank += 1
        server_list.append({"server_id": server_id, "device": devices, "host_nic_ip": "reserve"})
    data = {"version": "1.0", "server_count": str(len(servers)), "server_list": server_list, "status": "completed"}
    data.update(top)
    return data


def test_single_and_multi_server_tables_parse():
    t = parse_rank_table(json.dumps(table()), "rt.json")
    assert t.rank_size == 8 and len(t.servers) == 1
    assert [(d.rank_id, d.device_id) for d in t.servers[0].devices] == [(i, i) for i in range(8)]
    two = parse_rank_table(json.dumps(table((("10.0.0.1", 8), ("10.0.0.2", 8)))), "rt.json")
    assert two.rank_size == 16
    second = this_server(two, host_addresses={"10.0.0.2", "127.0.0.1"})
    assert [d.rank_id for d in second.devices] == list(range(8, 16))
    assert this_server(two, server_id="10.0.0.1").server_id == "10.0.0.1"
    with pytest.raises(RankTableError, match="cannot tell which of the servers 10.0.0.1, 10.0.0.2"):
        this_server(two, host_addresses={"127.0.0.1"})
    with pytest.raises(RankTableError, match="no server_id 10.9.9.9"):
        this_server(two, server_id="10.9.9.9")


def _dup_rank(t):
    t["server_list"][0]["device"][3]["rank_id"] = "2"


def _dup_device(t):
    t["server_list"][0]["device"][1]["device_id"] = "0"


def _gap(t):
    t["server_list"][0]["device"][7]["rank_id"] = "9"


def _missing_key(t):
    del t["server_list"][0]["device"][2]["device_ip"]


def _bad_number(t):
    t["server_list"][0]["device"][0]["device_id"] = "zero"


def _dup_ip(t):
    t["server_list"][0]["device"][5]["device_ip"] = t["server_list"][0]["device"][4]["device_ip"]


def _count(t):
    t["server_count"] = "2"


def _status(t):
    t["status"] = "initializing"


def _no_list(t):
    del t["server_list"]


def _empty_devices(t):
    t["server_list"][0]["device"] = []


def _version(t):
    t["version"] = "0.9"


def _device_ip(value):
    def corrupt(t):
        t["server_list"][0]["device"][3]["device_ip"] = value
    return corrupt


@pytest.mark.parametrize("corrupt, message", [
    *[(_device_ip(v), f"server_list[0].device[3].device_ip must be an IPv4 address such as 192.168.100.101 "
                      f"(the device's NIC, as hccl_tools.py writes it), got {v!r}")
      for v in ("192.168.0.300", "fe80::1", "192.168.0", "npu3.local", "", " 192.168.0.103", "192.168.00.103",
                3232235623, None)],
    (_dup_rank, "duplicate rank_id 2 (server_list[0].device[2] and server_list[0].device[3])"),
    (_dup_device, "duplicate device_id 0 (server_list[0].device[0] and server_list[0].device[1])"),
    (_dup_ip, "duplicate device_ip 192.168.0.104"),
    (_gap, "rank_ids must be 0..7, got [0, 1, 2, 3, 4, 5, 6, 9] (missing [7])"),
    (_missing_key, "server_list[0].device[2] has no 'device_ip'"),
    (_bad_number, "server_list[0].device[0].device_id must be an integer, got 'zero'"),
    (_count, "server_count is 2 but server_list has 1 servers"),
    (_status, "status is 'initializing', expected 'completed'"),
    (_no_list, "the top level has no 'server_list'"),
    (_empty_devices, "server_list[0].device must be a non-empty list"),
    (_version, "version '0.9' is not supported"),
])
def test_malformed_tables_stop_with_one_line_naming_file_and_problem(corrupt, message):
    data = table()
    corrupt(data)
    with pytest.raises(RankTableError) as e:
        parse_rank_table(json.dumps(data), "/x/rank_table_8p.json")
    text = str(e.value)
    assert text.startswith("rank table /x/rank_table_8p.json: ") and message in text and "\n" not in text


def test_unreadable_or_invalid_json_files(tmp_path):
    with pytest.raises(RankTableError, match=r"rank table .*nope.json: cannot read it \(No such file"):
        load_rank_table(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"server_count": "1",\n "server_list": [}\n')
    with pytest.raises(RankTableError, match=r"rank table .*bad.json: invalid JSON at line 2 column 18"):
        load_rank_table(str(bad))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "src.distributed.rank_table", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_prints_this_servers_processes(tmp_path):
    path = tmp_path / "rt.json"
    path.write_text(json.dumps(table((("10.0.0.1", 2), ("10.0.0.2", 2)))))
    out = _cli(str(path), "--server_id", "10.0.0.2")
    assert out.returncode == 0 and out.stdout.split("\n")[:2] == ["2 0", "3 1"]
    assert _cli(str(path), "--rank_size").stdout.strip() == "4"
    path.write_text("{")
    out = _cli(str(path))
    assert out.returncode == 1 and out.stderr.strip().startswith(f"rank table {path}: invalid JSON")


def _script(*args, env=None):
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_distribute_train.sh"), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def test_ascend_launcher_validates_then_starts_one_process_per_device(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    bad = tmp_path / "rt.json"
    t = table((("10.0.0.1", 4),))
    _dup_rank(t)
    bad.write_text(json.dumps(t))
    out = _script(str(bad), str(data), env={"DRY_RUN": "1"})
    assert out.returncode != 0 and out.stderr.strip().splitlines()[-1].startswith(f"rank table {bad}: duplicate rank_id")
    assert "device0" not in out.stdout
    good = tmp_path / "rt4.json"
    good.write_text(json.dumps(table((("10.0.0.1", 4),))))
    out = _script(str(good), str(data), "configs/quickstart_siamrpn.yaml", str(tmp_path / "out"),
                  "--train.epochs", "2", env={"DRY_RUN": "1"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == f"rank table {good}: 4 ranks, 4 on this server"
    for i, line in enumerate(lines[1:]):
        assert line.startswith(f"RANK_ID={i} DEVICE_ID={i} cd {tmp_path}/out/device{i} && python ")
        assert "--device_target Ascend" in line and f"--device_id {i}" in line and "--run_distribute True" in line
        assert line.endswith(f"--train.epochs 2 > {tmp_path}/out/device{i}/train.log 2>&1 &")
    assert len(lines) == 5 and not (tmp_path / "out").exists()
    t = table((("10.0.0.1", 4),))
    t["server_list"][0]["device"][1]["device_ip"] = "2001:db8::1"
    bad.write_text(json.dumps(t))
    out = _script(str(bad), str(data), env={"DRY_RUN": "1"})
    assert out.returncode != 0 and "device0" not in out.stdout
    assert out.stderr.strip().splitlines() == [f"rank table {bad}: server_list[0].device[1].device_ip must be an "
                                               "IPv4 address such as 192.168.100.101 (the device's NIC, as "
                                               "hccl_tools.py writes it), got '2001:db8::1'"]
    out = _script(str(tmp_path / "missing.json"), str(data))
    assert out.returncode != 0 and out.stderr.strip() == f"rank table not found: {tmp_path / 'missing.json'}"


def test_msrun_launchers_dry_run_and_usage(tmp_path):
    for script, target in (("run_distribute_train_gpu.sh", "GPU"), ("run_distribute_train_cpu.sh", "CPU")):
        path = os.path.join(ROOT, "scripts", script)
        out = subprocess.run(["bash", path, "2", str(tmp_path), "configs/quickstart_siamrpn.yaml",
                              str(tmp_path / "o")], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "DRY_RUN": "1", "MASTER_PORT": "12345"})
        assert out.returncode == 0, out.stderr
        cmd = out.stdout.strip()
        assert cmd.startswith("msrun --worker_num=2 --local_worker_num=2 --master_port=12345 "
                              f"--log_dir={tmp_path}/o/msrun_log --join=True {ROOT}/train.py")
        assert f"--device_target {target} --run_distribute True" in cmd
        out = subprocess.run(["bash", path, "zero", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1 and f"Usage: bash scripts/{script} DEVICE_NUM DATA_PATH" in out.stderr

"""ModelArts training jobs: data in from ``--data_url``, results out to ``--train_url``.

A ModelArts job gets object-store paths (``obs://bucket/...``) and a fast
local disk (``/cache``). ``train.py --is_cloudtrain True`` therefore

1. copies ``data_url`` to ``CACHE/data`` and, by ``--unzip_mode``, unpacks it:
   0 = a plain directory tree (used as is), 1 = ``.zip`` archives,
   2 = tar archives (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``).
   ``data_url`` may be the archive itself or a directory holding archives
   (every one is unpacked into ``CACHE/data``, zip and tar alike, so one
   archive per prepared sub-dataset works: ``vid.zip``, ``coco.tar``, ...;
   other files are kept beside them). An archive may hold its folder
   (``vid/crop511/..``, ``vid/train.json``) or only its contents
   (``crop511/..``, ``train.json``, i.e. packed inside ``DATA/vid``): those
   go to the folder named after the archive (``vid.zip`` -> ``vid/``).
   Archives holding parts of one folder are merged. The data root is
   ``CACHE/data``, or its sub-directory holding more of the config's index
   files than it and any other (an archive of ``DATA/``);
2. copies the newest checkpoints and metrics.json of an earlier run of the
   same experiment from ``train_url`` into ``CACHE/train``, so a restarted job
   resumes as a local rerun does;
3. trains into ``CACHE/train`` (checkpoints, per-rank logs, metrics.json,
   ``export/`` with ``--export_after_train``; eval.json if one is put there);
4. copies ``CACHE/train`` to ``train_url`` (also after a failure: the logs say why).

Copies use ``moxing.file`` when ``import moxing`` works (ModelArts), and
``shutil`` otherwise, which serves local and mounted paths (and the tests).
With several processes per server, local rank 0 does the copying while the
others wait for a marker file naming the result (or the error), so one job
copies its data once per server.
"""
import json
import logging
import os
import shutil
import tarfile
import time
import zipfile

logger = logging.getLogger("src.cloud")

UNZIP_MODES = {0: "directory", 1: "zip", 2: "tar"}
ARCHIVE_SUFFIXES = {1: (".zip",), 2: (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")}


class CloudError(ValueError):
    """A data_url/train_url problem; the message names the path on one line."""


def _moxing():
    try:
        import moxing
    except ImportError:
        return None
    return moxing


def _is_object_store(url):
    return "://" in url


def _local_only(*urls):
    for url in urls:
        if _is_object_store(url):
            raise CloudError(f"{url} is an object-store path and moxing (ModelArts' file library) "
                             "cannot be imported here; use a local or mounted path")


def _query(url, mox_name, local):
    """``moxing.file.<mox_name>(url)`` when moxing imports, else ``local(url)`` (local or mounted path)."""
    mox = _moxing()
    if mox is not None:
        return getattr(mox.file, mox_name)(url)
    _local_only(url)
    return local(url)


def _exists(url):
    return _query(url, "exists", os.path.exists)


def _is_dir(url):
    return _query(url, "is_directory", os.path.isdir)


def _list_dir(url):
    return list(_query(url, "list_directory", os.listdir))


def copy(src, dst):
    """Copy a file or a directory tree ``src`` to ``dst`` (merged into an existing ``dst``)."""
    if not _exists(src):
        raise CloudError(f"not found: {src}")
    mox = _moxing()
    if mox is not None:
        if mox.file.is_directory(src):
            mox.file.copy_parallel(src, dst)
        else:
            mox.file.copy(src, dst)
        return
    _local_only(src, dst)
    if os.path.isdir(src):
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        shutil.copy2(src, dst)


def _basename(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


ALL_SUFFIXES = tuple(sorted({s for suffixes in ARCHIVE_SUFFIXES.values() for s in suffixes}, key=len, reverse=True))
# what the top of a prepared sub-dataset folder holds (src/data/prepare: crop511/ and its index)
SUB_DATASET_MARKS = ("crop511",)


def _archive_stem(name):
    """``vid.tar.gz`` -> ``vid``."""
    lower = name.lower()
    return next((name[:-len(s)] for s in ALL_SUFFIXES if lower.endswith(s)), name)


def _merge_move(src, dst):
    """Move ``src`` to ``dst``; a directory is merged into an existing one (archives holding
    parts of one folder), a file replaces an older one."""
    if os.path.isdir(src) and os.path.isdir(dst):
        for name in os.listdir(src):
            _merge_move(os.path.join(src, name), os.path.join(dst, name))
        os.rmdir(src)
    else:
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        os.replace(src, dst)


def _unpack_into(archive, data_dir):
    """Unpack ``archive`` (in a scratch folder first) into ``data_dir``: its top-level entries
    merge into ``data_dir``, or, when it holds a sub-dataset folder's contents (``crop511/``
    at its top), into ``data_dir/<archive name without suffix>``."""
    scratch = os.path.join(data_dir, f".unpacking-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    try:
        _unpack(archive, scratch)
        top = os.listdir(scratch)
        if any(os.path.isdir(os.path.join(scratch, m)) for m in SUB_DATASET_MARKS if m in top):
            target = os.path.join(data_dir, _archive_stem(os.path.basename(archive)))
            logger.info("%s holds a sub-dataset's contents: unpacked into %s", os.path.basename(archive), target)
            os.makedirs(target, exist_ok=True)
            _merge_move(scratch, target)
        else:
            _merge_move(scratch, data_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _unpack(archive, dest):
    """Unpack ``archive`` into ``dest``; members may not leave it (zip names are
    sanitised by zipfile, tar members go through the 'data' filter)."""
    try:
        if archive.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                z.extractall(dest)
        else:
            with tarfile.open(archive) as t:
                t.extractall(dest, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise CloudError(f"cannot unpack {os.path.basename(archive)}: {str(e) or type(e).__name__}") from None


def _annotations_under(root, cfg):
    """How many of the config's index files (``data.train``) lie under ``root``."""
    return sum(os.path.isfile(os.path.join(root, d.anno)) for d in cfg.data.train)


def locate_data_root(root, cfg):
    """``root``, or the one sub-directory holding more of the config's index files than it
    and every other one (an archive of ``DATA/``). Counting, not requiring all, lets a
    partial ``DATA/`` still be the root, so the missing sub-datasets are named under it."""
    if cfg is None:
        return root
    here = _annotations_under(root, cfg)
    if here == len(cfg.data.train):
        return root
    subdirs = [os.path.join(root, n) for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))]
    counts = sorted(((_annotations_under(d, cfg), d) for d in subdirs), reverse=True)
    if counts and counts[0][0] > here and (len(counts) == 1 or counts[1][0] < counts[0][0]):
        return counts[0][1]
    return root


def fetch_data(data_url, cache_dir, unzip_mode=0, cfg=None):
    """Copy (and unpack) ``data_url`` into ``cache_dir/data``; returns the data root."""
    if unzip_mode not in UNZIP_MODES:
        raise CloudError(f"unzip_mode must be one of {sorted(UNZIP_MODES)} "
                         f"({', '.join(f'{k} = {v}' for k, v in UNZIP_MODES.items())}), got {unzip_mode}")
    if not _exists(data_url):
        raise CloudError(f"data_url not found: {data_url}")
    data_dir = os.path.join(cache_dir, "data")
    shutil.rmtree(data_dir, ignore_errors=True)    # never mix with an earlier job's data
    t0 = time.time()
    if unzip_mode == 0:
        if not _is_dir(data_url):
            raise CloudError(f"unzip_mode 0 expects a directory, but data_url is a file: {data_url} "
                             "(use --unzip_mode 1 for .zip, 2 for tar archives)")
        copy(data_url, data_dir)
    else:
        download = os.path.join(cache_dir, "download")
        shutil.rmtree(download, ignore_errors=True)
        copy(data_url, download if _is_dir(data_url) else os.path.join(download, _basename(data_url)))
        suffixes = ARCHIVE_SUFFIXES[unzip_mode]
        names = sorted(os.listdir(download))
        # zip and tar alike: one archive per sub-dataset may come in either format
        archives = [n for n in names if n.lower().endswith(ALL_SUFFIXES) and os.path.isfile(os.path.join(download, n))]
        if not archives:
            raise CloudError(f"unzip_mode {unzip_mode}: no {UNZIP_MODES[unzip_mode]} archive "
                             f"({', '.join(suffixes)}) in {data_url}")
        os.makedirs(data_dir)
        for name in names:   # plain files first: an archive's folder may merge with a copied one
            if name not in archives:
                shutil.move(os.path.join(download, name), os.path.join(data_dir, name))
        for name in archives:
            logger.info("unpacking %s", name)
            _unpack_into(os.path.join(download, name), data_dir)
        shutil.rmtree(download, ignore_errors=True)
    root = locate_data_root(data_dir, cfg)
    logger.info("data from %s in %s (%.0f s)", data_url, root, time.time() - t0)
    return root


def restore_checkpoints(train_url, output_dir, prefix, keep=2):
    """Copy metrics.json and the ``keep`` newest ``<prefix>_epochNNN.ckpt`` of an earlier
    run from ``train_url`` into ``output_dir`` (two: the newest may be truncated).
    Returns the names copied."""
    if not _exists(train_url) or not _is_dir(train_url):
        return []
    from .training.checkpoint import checkpoint_epoch
    names = _list_dir(train_url)
    epochs = {n: checkpoint_epoch(n, prefix) for n in names}
    ckpts = sorted((n for n, e in epochs.items() if e is not None), key=epochs.get)[-keep:]
    wanted = ckpts + (["metrics.json"] if "metrics.json" in names else [])
    for name in wanted:
        copy(f"{train_url.rstrip('/')}/{name}", os.path.join(output_dir, name))
    if wanted:
        logger.info("restored %s from %s", ", ".join(wanted), train_url)
    return wanted


def upload_results(output_dir, train_url):
    copy(output_dir, train_url)
    logger.info("copied %s to %s", output_dir, train_url)


def on_local_rank0(action, marker, local_rank, group_size, barrier=None, poll_s=1.0):
    """Run ``action()`` (returning something JSON-able) on this server's local rank 0;
    the server's other ranks wait for ``marker`` and get the same result, or a
    CloudError with local rank 0's message. ``barrier`` (a function) keeps
    them from reading a stale marker of an earlier job: it runs after local
    rank 0 removed it. Waiting is file-based, not a collective, so a copy of
    any length does not run into the communication timeout."""
    if group_size == 1:
        return action()
    if local_rank == 0 and os.path.exists(marker):
        os.remove(marker)
    if barrier is not None:
        barrier()
    if local_rank == 0:
        result = {"error": "interrupted"}
        try:
            result = {"ok": action()}
        except Exception as e:
            result = {"error": str(e)}
            raise
        finally:
            tmp = f"{marker}.tmp"
            os.makedirs(os.path.dirname(os.path.abspath(marker)), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(result, f)
            os.replace(tmp, marker)
        return result["ok"]
    while not os.path.exists(marker):
        time.sleep(poll_s)
    with open(marker, encoding="utf-8") as f:
        result = json.load(f)
    if "error" in result:
        raise CloudError(f"local rank 0 failed: {result['error']}")
    return result["ok"]


def prepare_job(data_url, train_url, cache_dir, unzip_mode, cfg, output_dir, rank, local_rank, group_size,
                barrier=None):
    """Steps 1-2 of the module docstring; returns the local data root. Only rank 0
    restores checkpoints: it alone decides where training resumes (src/training/trainer.py)."""
    marker = os.path.join(cache_dir, ".data_ready.json")
    data_path = on_local_rank0(lambda: fetch_data(data_url, cache_dir, unzip_mode, cfg),
                               marker, local_rank, group_size, barrier)
    if rank == 0:
        restore_checkpoints(train_url, output_dir, cfg.name)
    return data_path


def finish_job(output_dir, train_url, local_rank, group_size, succeeded, barrier=None):
    """Step 4: each server's local rank 0 copies ``output_dir`` to ``train_url``; after a
    successful run it waits for every rank first, so all logs are complete (after a
    failure it does not: the failed ranks would never arrive)."""
    if succeeded and group_size > 1 and barrier is not None:
        barrier()
    if local_rank == 0:
        upload_results(output_dir, train_url)

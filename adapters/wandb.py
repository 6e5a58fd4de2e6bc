"""Weights & Biases in offline mode: a `.wandb` transaction log per run, written by wandb-core."""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    EXACT,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    PROCESS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    save_npy,
)

# The `.wandb` file format (LevelDB's log format behind a 7-byte W&B header), as written by
# wandb-core and read by `wandb sync`: 32 KiB blocks of chunks, each chunk a 7-byte header
# (CRC-32 of type byte + data, little-endian length, type) and data; a record of the
# protobuf `wandb.proto.wandb_internal_pb2.Record` is one FULL chunk or FIRST, MIDDLE..., LAST.
WANDB_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK_SIZE = 32 * 1024
CHUNK_HEADER = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4

# Artifact type of the arrays this adapter logs.
ARRAY_ARTIFACT_TYPE = "trackbench-array"


def read_wandb_records(path: Path) -> Iterator[Any]:
    """Every `Record` protobuf in a `.wandb` file, in order; checks each chunk's CRC."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    if not data.startswith(WANDB_HEADER):
        raise ValueError(f"{path} does not start with the W&B header")
    pos = len(WANDB_HEADER)
    pending = bytearray()
    while pos + CHUNK_HEADER.size <= len(data):
        left_in_block = BLOCK_SIZE - pos % BLOCK_SIZE
        if left_in_block < CHUNK_HEADER.size:
            pos += left_in_block  # zero padding at a block's end
            continue
        crc, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        pos += CHUNK_HEADER.size
        if kind == 0 and length == 0:
            pos += left_in_block - CHUNK_HEADER.size  # preallocated, never written
            continue
        chunk = data[pos : pos + length]
        pos += length
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != crc:
            raise ValueError(f"{path}: bad checksum at byte {pos - length}")
        if kind == FULL:
            pending = bytearray(chunk)
        elif kind == FIRST:
            pending = bytearray(chunk)
            continue
        elif kind == MIDDLE:
            pending += chunk
            continue
        elif kind == LAST:
            pending += chunk
        else:
            raise ValueError(f"{path}: unknown chunk type {kind}")
        record = wandb_internal_pb2.Record()
        record.ParseFromString(bytes(pending))
        yield record


class WandbAdapter(Adapter):
    """W&B offline; system stats, metadata, git, code and console capture off."""

    name = "wandb"
    reader = (
        "trackbench's parser of the .wandb record log (wandb's protobuf messages): the "
        "SDK reads offline runs only by syncing them to a server"
    )
    # wandb-core writes the .wandb log a 32 KiB block at a time as blocks fill, and the last
    # partial block when the run finishes (its store never flushes before it closes; a
    # wandb-core whose parent died shuts down without closing it); never fsynced before
    # that close (strace: one fsync, at the end, for 100 or 1000 values)
    durability = PROCESS
    requirements: ClassVar[tuple[str, ...]] = ("wandb==0.31.0",)
    env: ClassVar[dict[str, str]] = {
        # No network here, and online mode with any key blocks ~70 s in init.
        "WANDB_MODE": "offline",
        # Banners and run summaries on the terminal are console output, not tracking work.
        "WANDB_SILENT": "true",
        # The SDK's own crash reports (Sentry) would try the network.
        "WANDB_ERROR_REPORTING": "false",
        # Run folders (./wandb by default).
        "WANDB_DIR": "{workdir}",
        # Each of these defaults to the home directory (~/.local/share/wandb, ~/.cache/wandb,
        # ~/.config/wandb), even offline: artifact staging copies, wandb-core's debug logs,
        # settings.
        "WANDB_DATA_DIR": "{workdir}/wandb-data",
        "WANDB_CACHE_DIR": "{workdir}/wandb-cache",
        "WANDB_CONFIG_DIR": "{workdir}/wandb-config",
        # Where downloaded artifacts go (./artifacts by default); none are downloaded here.
        "WANDB_ARTIFACT_DIR": "{workdir}/wandb-artifacts",
        # Not tracking work: git state and a copy of the main script.
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "DO_NOT_TRACK": "true",
    }
    # Concurrent writers each get their own run folder and .wandb log under one WANDB_DIR.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "W&B's Run has no flush or sync call: run.log() hands each row to wandb-core, "
        'which "queues events in memory and writes them to disk asynchronously" (the .wandb '
        "log in 32 KiB blocks); only run.finish() waits for it to write everything",
    }
    fidelity = EXACT
    fidelity_note = (
        "history values are JSON text written by wandb-core (shortest round-trip float64; "
        "NaN, Infinity, -0); arrays are NPY files of an offline artifact; read back by parsing "
        "the .wandb log (LevelDB log format) into the SDK's own Record protobufs"
    )
    array_mechanism = (
        "NPY file added to a wandb.Artifact, logged offline (staged copy in WANDB_DATA_DIR)"
    )
    leaves_behind = "nothing once finish() has torn down wandb-core (checked by the tests)"

    def load(self) -> None:
        """Import wandb (the wandb-core service starts at the first init)."""
        import wandb

        self.lib = wandb

    def open(self, workdir: Path, service: Service | None) -> None:
        """Prepare the directories and settings; wandb-core starts with the first run."""
        self.workdir = Path(workdir)
        self.scratch = self.workdir / "scratch"
        self.run: Any = None

    def _settings(self) -> Any:
        """The run settings that keep W&B offline and doing tracking work only."""
        # Older W&B (0.16.3, run --with wandb==0.16.3) spells these private settings with a
        # leading underscore, and rejects the x_ names
        x = "x_" if "x_disable_stats" in getattr(self.lib.Settings, "model_fields", {}) else "_"
        private = {
            "disable_stats": True,  # no wandb-symon sampling CPU/GPU/disk
            "disable_meta": True,  # no system metadata (hardware, Python, packages)
            "disable_machine_info": True,
            "save_requirements": False,  # no scan of installed packages into requirements.txt
        }
        return self.lib.Settings(
            mode="offline",
            silent=True,
            console="off",  # no capture of stdout/stderr
            save_code=False,
            disable_code=True,
            disable_git=True,
            disable_job_creation=True,
            **{x + name: value for name, value in private.items()},
        )

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """wandb.init: one offline run per call, params as its config."""
        self.run = self.lib.init(
            project=experiment,
            name=run_name,
            config=dict(params),
            dir=os.fspath(self.workdir),
            mode="offline",
            settings=self._settings(),
        )

    def log(self, values: dict[str, float], step: int) -> None:
        """run.log with an explicit step (one history row per step)."""
        self.run.log(values, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """An NPY file in a wandb.Artifact: W&B's mechanism for arbitrary files and data."""
        path = save_npy(self.scratch, name, array)
        artifact = self.lib.Artifact(name, type=ARRAY_ARTIFACT_TYPE)
        # The default policy "mutable" copies the file into the staging area at once, so
        # the scratch file can go.
        artifact.add_file(os.fspath(path), name=f"{name}.npy")
        self.run.log_artifact(artifact)
        path.unlink()

    def end_run(self) -> None:
        """run.finish: wandb-core writes the run's exit record and closes its log."""
        self.run.finish()
        self.run = None

    def finish(self) -> None:
        """Tear down the SDK: waits for wandb-core to write everything and exit."""
        self.lib.teardown()
        if self.scratch.exists():
            self.scratch.rmdir()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Parse each run's `.wandb` log: run, config, history and artifact records."""
        import numpy as np

        out = []
        for path in sorted(workdir.glob("wandb/offline-run-*/run-*.wandb")):
            experiment = run_name = ""
            params: dict[str, Any] = {}
            series: dict[str, dict[int, float]] = {}
            arrays: dict[str, Any] = {}
            for record in read_wandb_records(path):
                kind = record.WhichOneof("record_type")
                if kind == "run":
                    experiment = record.run.project
                    run_name = record.run.display_name
                    for item in record.run.config.update:
                        params[item.key] = json.loads(item.value_json)
                elif kind == "config":
                    for item in record.config.update:
                        params[item.key] = json.loads(item.value_json)
                elif kind == "history":
                    items = {
                        item.key or "/".join(item.nested_key): item.value_json
                        for item in record.history.item
                    }
                    # before wandb-core (0.16.3, MLtraq's version) the step is only the
                    # row's "_step" item; record.history.step is left 0
                    step = int(json.loads(items.get("_step", "null")) or record.history.step.num)
                    for key, value_json in items.items():
                        if not key.startswith("_"):
                            # wandb-core writes -0.0 as "-0": an int to json, a float here
                            value = json.loads(value_json, parse_int=float)
                            series.setdefault(key, {})[step] = value
                elif kind == "artifact" and record.artifact.type == ARRAY_ARTIFACT_TYPE:
                    for entry in record.artifact.manifest.contents:
                        arrays[entry.path[: -len(".npy")]] = np.load(
                            entry.local_path, allow_pickle=False
                        )
            params.pop("_wandb", None)
            metrics = {k: [(s, float(v)) for s, v in sorted(d.items())] for k, d in series.items()}
            out.append(RunData(experiment, run_name, params, metrics, arrays))
        return out

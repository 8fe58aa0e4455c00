"""Parse each file in a worker process bounded in memory, CPU time and wall-clock time, off the event loop."""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from rectbot.retrieval.articles import DocumentError, Limit, LimitExceeded, ParsedFile, ReadLimits, Rejection

logger = logging.getLogger(__name__)

Parse = Callable[[bytes, str, ReadLimits], ParsedFile]  # a module-level function: workers import it by name

_WORKER_MAIN = f"import sys; from {__name__} import serve; serve(*sys.argv[1:])"
_POLL_SECONDS = 0.2  # how often a waiting parse checks whether its caller gave up
_START_SECONDS = 60.0


@dataclass(frozen=True)
class ParseLimits:
    """What parsing one file may cost; a file over a limit is rejected with a reason naming it."""

    memory_mb: int = 1024  # the worker's address space, its libraries included
    cpu_seconds: int = 60
    wall_seconds: float = 90.0
    read: ReadLimits = field(default_factory=ReadLimits)


class ParsePool:
    """Worker processes that parse files one at a time each, started when needed and kept for the next file.

    A worker that runs out of time is killed; one that used much memory retires after its file; an idle one
    exits after idle_seconds. Waiting for a worker happens in a thread of the pool's own, never on the event loop.
    """

    def __init__(
        self,
        limits: ParseLimits = ParseLimits(),
        workers: int = 2,
        idle_seconds: float = 30.0,
        parse: Parse | None = None,
    ) -> None:
        self.limits = limits
        self.workers = workers  # files parsed at once
        self.idle_seconds = idle_seconds
        self._given_parse = parse  # None: the readers' parse_bytes, imported when the first file comes
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parse")
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _parse(self) -> Parse:
        """The function workers parse with (the readers compile many patterns on import: only ingesting needs them)."""
        if self._given_parse is not None:
            return self._given_parse
        from rectbot.retrieval.documents import parse_bytes

        return parse_bytes

    async def parse(self, data: bytes, file_name: str) -> ParsedFile:
        """Parse a file's bytes in a worker; raises DocumentError with the reason it was rejected."""
        gave_up = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._threads, self.parse_blocking, data, file_name, gave_up)
        finally:
            gave_up.set()  # a cancelled caller: the worker is killed rather than left to finish

    def parse_blocking(self, data: bytes, file_name: str, gave_up: threading.Event | None = None) -> ParsedFile:
        """parse, for a caller that is not on an event loop."""
        job = (self._parse(), data, file_name, self.limits.read, self.limits.cpu_seconds)
        for attempt in range(2):
            worker = self._take()
            try:
                status, value = worker.run(job, self.limits, gave_up or threading.Event())
            except _IdleExit:
                continue  # it timed out idle as the job was sent: once more with a fresh one
            except BaseException:
                worker.kill()
                raise
            if status == "retire":
                worker.join()
            else:
                self._give_back(worker)
            break
        else:
            raise DocumentError(Rejection.WORKER_FAILED, "the parse worker could not be started")
        kind, result = value
        if kind == "parsed":
            return result
        if kind == "memory":
            raise _memory_exceeded(self.limits)
        if kind == "limit":
            raise LimitExceeded(*result)
        if kind == "rejected":
            raise DocumentError(*result)
        name, trace = result
        logger.warning("cannot parse %s: %s", file_name, trace)
        raise DocumentError(Rejection.PARSER_FAILED, f"cannot parse file ({name})")

    def close(self) -> None:
        """Stop the idle workers and take no more files; a parse still running ends within its limits."""
        self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                # An idle worker about to time out would exit under the job; kill it and start afresh.
                if worker.alive() and time.monotonic() - worker.idle_since < self.idle_seconds - 1:
                    return worker
                worker.kill()
        return _Worker(self.limits.memory_mb, self.idle_seconds, self._parse().__module__)

    def _give_back(self, worker: _Worker) -> None:
        worker.idle_since = time.monotonic()
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        worker.kill()


_shared: ParsePool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ParsePool:
    """The process's pool with the default limits, used by every corpus not given another: workers outlive a batch."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParsePool()
        return _shared


def _memory_exceeded(limits: ParseLimits) -> LimitExceeded:
    """The error for a file that needed more memory than the limit."""
    return LimitExceeded(Limit.MEMORY, f"parsing needed more than {limits.memory_mb} MB of memory")


class _IdleExit(Exception):
    """The worker had exited, being idle too long, when the job reached it."""


class _Worker:
    """One worker process, a fresh interpreter (no fork of a threaded parent), and the pipes to it."""

    def __init__(self, memory_mb: int, idle_seconds: float, parse_module: str) -> None:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        # The parent's import path, so that the worker imports the same retrieval package and parse function.
        path = os.pathsep.join(os.path.abspath(entry) for entry in sys.path)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_MAIN, str(job_read), str(result_write), str(memory_mb), str(idle_seconds),
                 parse_module],
                pass_fds=(job_read, result_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
                start_new_session=True,  # a Ctrl-C at the terminal is for the parent, which stops its workers
            )
        finally:
            os.close(job_read)
            os.close(result_write)
        self.jobs = Connection(job_write, readable=False)
        self.results = Connection(result_read, writable=False)
        self.idle_since = time.monotonic()
        self.started = False

    def run(self, job: tuple[Any, ...], limits: ParseLimits, gave_up: threading.Event) -> tuple[str, Any]:
        """Send a job and wait for its outcome: ("done" or "retire", (kind, value)); raises on a limit or crash."""
        if not self.started:
            self._wait_until_started(gave_up)
        try:
            self.jobs.send(job)
        except (BrokenPipeError, ConnectionResetError):
            self.join()
            raise _IdleExit from None
        deadline = time.monotonic() + limits.wall_seconds
        while not self.results.poll(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic()))):
            if gave_up.is_set():
                self.kill()
                raise DocumentError(Rejection.CANCELLED, "parsing was cancelled")
            if time.monotonic() >= deadline:
                self.kill()
                raise LimitExceeded(Limit.WALL_TIME, f"parsing took longer than {limits.wall_seconds:g} s")
        try:
            return self.results.recv()
        except (EOFError, ConnectionResetError):
            pass
        except MemoryError:  # the parent could not hold the result
            self.kill()
            raise _memory_exceeded(limits) from None
        code = self.join()
        if code == 0:
            raise _IdleExit
        if code == -signal.SIGXCPU:
            raise LimitExceeded(Limit.CPU_TIME, f"parsing took more than {limits.cpu_seconds} s of CPU time")
        if code == -signal.SIGKILL:  # the kernel's out-of-memory killer
            raise _memory_exceeded(limits)
        reason = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        logger.warning("a parse worker died: %s", reason)
        raise DocumentError(Rejection.PARSER_FAILED, f"cannot parse file (the parser crashed: {reason})")

    def _wait_until_started(self, gave_up: threading.Event) -> None:
        """Wait for the worker's imports, which the wall-clock limit of its first file does not include."""
        deadline = time.monotonic() + _START_SECONDS
        while not self.results.poll(_POLL_SECONDS):
            if gave_up.is_set() or time.monotonic() > deadline:
                self.kill()
                if gave_up.is_set():
                    raise DocumentError(Rejection.CANCELLED, "parsing was cancelled")
                raise DocumentError(Rejection.WORKER_FAILED, "the parse worker did not start")
        try:
            self.results.recv()
        except (EOFError, ConnectionResetError):
            code = self.join()
            reason = f"the parse worker did not start (exit status {code})"
            raise DocumentError(Rejection.WORKER_FAILED, reason) from None
        self.started = True

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the process and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.join()

    def join(self) -> int:
        """Wait for the process to end; its exit code (minus the signal that ended it)."""
        code = self.process.wait()
        self.jobs.close()
        self.results.close()
        return code


# ---------------------------------------------------------------- in the worker process


def serve(job_fd: str, result_fd: str, memory_mb: str, idle_seconds: str, parse_module: str) -> None:
    """A worker's life: set its memory limit, then parse the jobs sent until idle too long or grown too big."""
    jobs = Connection(int(job_fd), writable=False)
    results = Connection(int(result_fd), readable=False)
    # The parent reports each file's outcome. A library's warning about a damaged file (pypdf's "EOF marker not
    # found") would reach standard error here unformatted, past the application's logging: errors only.
    logging.disable(logging.WARNING)
    importlib.import_module(parse_module)
    results.send("started")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a CPU-time kill must not write a core file
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int(memory_mb) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    while jobs.poll(float(idle_seconds)):
        try:
            parse, data, file_name, read_limits, cpu_seconds = jobs.recv()
        except EOFError:
            return  # the parent has gone
        _limit_cpu(cpu_seconds)
        outcome = _outcome(parse, data, file_name, read_limits)
        del data
        # Memory that Python keeps after a big file would count against the next one.
        retire = _resident_bytes() > limit // 2
        try:
            results.send(("retire" if retire else "done", outcome))
        except MemoryError:
            del outcome
            results.send(("retire", ("memory", None)))
        if retire:
            return


def _resident_bytes() -> int:
    """This process's resident memory now.

    Not ru_maxrss where /proc can tell: on Linux a process started by fork and exec keeps the peak of the parent
    it was forked from, so every worker of a bot serving a big index would retire after its first file.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _limit_cpu(seconds: int) -> None:
    """Allow this job seconds of CPU time more than the worker has used so far (it is killed by SIGXCPU past it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _outcome(parse: Parse, data: bytes, file_name: str, limits: ReadLimits) -> tuple[str, Any]:
    """(kind, value) for a parse: ("parsed", ParsedFile), ("limit", (limit, reason)), ("rejected", (code, reason))..."""
    try:
        return "parsed", parse(data, file_name, limits)
    except MemoryError:
        return "memory", None
    except LimitExceeded as error:
        return "limit", (error.limit, error.reason)
    except DocumentError as error:
        return "rejected", (error.code, str(error))
    except RecursionError:
        return "rejected", (Rejection.PARSER_FAILED, "cannot parse file (nested too deeply)")
    except Exception as error:  # a parser library failing on a hostile file
        return "error", (type(error).__name__, traceback.format_exc())

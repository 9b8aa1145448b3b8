"""Writing files so that no failure, signal or concurrent run destroys one.

Core (stage 0), the standard library only: every file matcalc writes goes through
`write_file`, and train/script.py copies these functions verbatim into the generated training
script, which so keeps the same guarantees. A regular file is written to a temporary name
unique to this run (`.NAME.HOST-PID-RANDOM.partial` beside it), synced, then renamed over the
target: the file is the old one or the whole new one, never a truncated mix, and two runs on
one name never touch each other's temporary. A leftover of a killed run is removed by a later
one only when the process it names is gone. A symlink is followed to its target (the link
stays a link); a character device or a FIFO (/dev/null, /dev/stdout, a named pipe) is written
to, as a shell redirection would, never replaced; a block device (a disk) and a folder are
refused by name. Every failure is a WriteError naming the file and the cause in words (a full
disk: "no space left on the device holding …"), with nothing replaced.
"""
import errno
import os
import socket
import stat
import sys

# A full disk, a quota or `ulimit -f` in words: the environment, not matcalc, is at fault.
NO_SPACE = {errno.ENOSPC: "no space left on {where}",
            errno.EDQUOT: "the disk quota of {where} is exceeded",
            errno.EFBIG: "the file would exceed this process's file-size limit (ulimit -f)"}


class WriteError(OSError):
    """A file could not be written. str() is the whole message ("cannot write the weights
    to PATH: WHY"); `why` the cause alone; `errno` the system's code, when there is one.
    Nothing was replaced."""

    def __init__(self, what, path, why, code=None):
        super().__init__(f"cannot write {what} to {path}: {why}")
        self.why, self.errno = why, code


def _failure(e, what, path, where):
    """The WriteError for OSError e while writing `what` to path (`where`: the folder's device
    for a file, the path itself for a device)."""
    why = NO_SPACE[e.errno].format(where=where) if e.errno in NO_SPACE else \
        (e.strerror or str(e))
    return WriteError(what, path, why, e.errno)


def _fd_of(path):
    """The descriptor that /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names (written
    through it, so that the shell's offset is shared), or None."""
    path = os.path.abspath(path)
    names = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
    if path in names:
        return names[path]
    for prefix in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        if path.startswith(prefix) and path[len(prefix):].isdigit():
            return int(path[len(prefix):])
    return None


def _target(path, what):
    """("stream", path) for what is written to in place, or ("file", the real path) for a
    regular file, existing or not, written atomically; WriteError for a folder or a disk."""
    path = os.path.abspath(path)
    if _fd_of(path) is not None:
        return "stream", path
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:       # new, or a dangling link: its target is created
        return "file", os.path.realpath(path)
    except OSError as e:
        raise _failure(e, what, path, path) from None
    if stat.S_ISDIR(mode):
        raise WriteError(what, path, "it is a folder; give a file name in it")
    if stat.S_ISBLK(mode):
        raise WriteError(what, path, "it is a block device (a disk); matcalc writes files, "
                         "character devices (/dev/null) and FIFOs")
    if stat.S_ISREG(mode) and not path.startswith("/proc/"):
        return "file", os.path.realpath(path)
    return "stream", path


def is_stdout(path):
    """Whether path names this process's stdout (/dev/stdout, /dev/fd/1): then the file is
    the stream, and a command's words go to stderr."""
    return _fd_of(path) == 1


def is_stream(path):
    """Whether path is written in place (a device, a FIFO, /dev/stdout), not as a file."""
    try:
        return _target(path, "it")[0] == "stream"
    except WriteError:
        return False


def _owner():
    """HOST-PID: who a temporary belongs to (the host, for folders shared between machines)."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}"


def _alive(pid):
    if os.name != "posix":          # no way to ask here: never remove what may be in use
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # another user's, alive
        return True
    except (OverflowError, ValueError):
        return False
    return True


def clear_leftovers(target):
    """Remove temporaries of `target` that killed runs left: ours by name (this host) whose
    process is gone, and the fixed names (.NAME.partial, .NAME.tmp) of earlier versions."""
    folder, name = os.path.split(target)
    host = _owner().rsplit("-", 1)[0]
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(f".{name}.") and entry.endswith((".partial", ".tmp"))):
            continue
        middle = entry[len(name) + 2:].rsplit(".", 1)[0]
        parts = middle.split("-")
        legacy = middle in ("partial", "tmp", "")
        dead = len(parts) == 3 and parts[0] == host and parts[1].isdigit() and \
            not _alive(int(parts[1]))
        if legacy or dead:
            try:
                os.unlink(os.path.join(folder, entry))
            except OSError:
                pass


def _create_temporary(target):
    """A new temporary beside target, only ours (O_EXCL); (fd, its path)."""
    folder, name = os.path.split(target)
    while True:
        tmp = os.path.join(folder, f".{name}.{_owner()}-{os.urandom(4).hex()}.partial")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:1 << 24]):]


def check_writable(path, what="the file"):
    """Refuse, before any work, a path that write_file could not write: a folder, a missing
    folder, a disk, a read-only file or folder (a temporary is created there and removed;
    leftovers of killed runs go too). A device or FIFO is only checked for permission."""
    kind, target = _target(path, what)
    if kind == "stream":
        fd = _fd_of(target)
        if fd is not None:
            try:
                os.fstat(fd)
            except OSError as e:
                raise _failure(e, what, target, target) from None
        elif not os.access(target, os.W_OK):
            raise WriteError(what, target, "Permission denied", errno.EACCES)
        return
    folder = os.path.dirname(target)
    shown = os.path.abspath(path)
    if not os.path.isdir(folder):
        raise WriteError(what, shown, f"the folder {folder} does not exist", errno.ENOENT)
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise WriteError(what, shown, "Permission denied", errno.EACCES)
    clear_leftovers(target)
    try:
        fd, tmp = _create_temporary(target)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise _failure(e, what, shown, f"the device holding {folder}") from None


def write_file(path, content, what="the file"):
    """Write content (bytes, or str as UTF-8) to path as the module docstring says; returns
    the path written (a symlink's target). An existing file keeps its permissions (a new one
    gets the umask's); WriteError when it cannot be written, with nothing replaced."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    kind, target = _target(path, what)
    if kind == "stream":
        _write_stream(target, data, what)
        return target
    folder, shown = os.path.dirname(target), os.path.abspath(path)
    clear_leftovers(target)
    tmp = None
    try:
        fd, tmp = _create_temporary(target)
        try:
            if os.path.isfile(target):
                os.fchmod(fd, stat.S_IMODE(os.stat(target).st_mode))
            _write_all(fd, data)
            try:                # the data on disk before the name: a crash keeps the old file
                os.fsync(fd)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOTSUP):    # a file system without
                    raise
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise _failure(e, what, shown, f"the device holding {folder}") from None
    finally:                    # any failure or signal: our temporary goes, the target stays
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


def _write_stream(path, data, what):
    """Write to a device, a FIFO (waiting for its reader, as `cat > fifo` does) or an open
    descriptor of ours (/dev/stdout: after what Python buffered for it)."""
    fd = _fd_of(path)
    try:
        if fd is not None:
            for f in (sys.stdout, sys.stderr):
                try:
                    if f is not None and f.fileno() == fd:
                        f.flush()
                except (OSError, ValueError, AttributeError):
                    pass
            _write_all(fd, data)
            return
        fd = os.open(path, os.O_WRONLY)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    except OSError as e:
        raise _failure(e, what, path, path) from None

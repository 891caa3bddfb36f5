"""Commands run for a report or a comparison, and files as they stand at a git revision:
from git where the file is committed there, else from DVC's cache."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from deepfake_audio.errors import InputError


class NotAtRevision(InputError):
    """A file that neither git nor the DVC cache holds at a revision."""


def repo_root(cwd: Path | None = None) -> Path:
    return Path(run(["git", "rev-parse", "--show-toplevel"], Path(cwd) if cwd else Path.cwd()))


def resolve_commit(rev: str, root: Path) -> str:
    """The full hash of ``rev``; InputError when it names no commit."""
    return run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        root,
        hint=f"{rev!r} is not a commit of this repository (for a PR, fetch with depth 0)",
    )


def describe_commit(rev: str, root: Path) -> str:
    """``rev`` (commit <hash>: <subject>), for the first line of a comparison."""
    commit = resolve_commit(rev, root)
    return f"`{rev}` (commit {commit[:12]}: {run(['git', 'log', '-1', '--format=%s', commit], root)})"


def read_at(rev: str, path: str, root: Path) -> str:
    """The text of ``path`` (relative to ``root``) at ``rev``: committed in git there, or else a
    DVC output of that revision found in the local DVC cache. NotAtRevision when neither has it."""
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True)
    if done.returncode == 0:
        return done.stdout
    try:
        import dvc.api

        return dvc.api.read(path, repo=str(root), rev=rev)
    except Exception as err:  # DVC raises many types (missing output, cache, remote); all mean "not here"
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise NotAtRevision(
            f"{rev}:{path} is neither committed to git nor in the DVC cache ({reason})"
        ) from None


def dvc_executable() -> str:
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.is_file() else (shutil.which("dvc") or "dvc")


def run(args: list[str], cwd: Path, hint: str = "") -> str:
    """stdout of ``args`` run in ``cwd``, stripped; InputError naming the command when it fails."""
    command = " ".join(args)
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    except OSError as err:
        raise InputError(f"`{command}` could not run: {err}") from None
    if done.returncode != 0:
        stderr = done.stderr.strip()
        errors = [line for line in stderr.splitlines() if line.startswith("ERROR")]
        stderr = "\n".join(errors) if errors else stderr  # dvc's own message, not its traceback
        detail = stderr or hint or f"exit status {done.returncode}"
        if hint and stderr:
            detail = f"{detail} ({hint})"
        raise InputError(f"`{command}` failed: {detail}")
    return done.stdout.strip()

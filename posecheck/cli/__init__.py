"""The `posecheck` command line: a click group whose commands each live in their own module.

Every command turns `PosecheckError` into a one-line message on stderr and a non-zero exit
(see `posecheck.cli._common.run_command`); only bugs produce tracebacks.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from posecheck import __version__

# command name -> (module, attribute). Modules are imported lazily so `posecheck --help`
# stays fast and a broken optional command cannot take the others down.
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("posecheck.cli.models_cmd", "models"),
    "pose": ("posecheck.cli.pose_cmd", "pose"),
    "exercises": ("posecheck.cli.exercises_cmd", "exercises"),
    "analyse": ("posecheck.cli.analyse_cmd", "analyse"),
    "batch": ("posecheck.cli.batch_cmd", "batch"),
    "live": ("posecheck.cli.live_cmd", "live"),
    "render": ("posecheck.cli.render_cmd", "render"),
    "routine": ("posecheck.cli.routine_cmd", "routine"),
    "history": ("posecheck.cli.history_cmd", "history"),
}
ALIASES: dict[str, str] = {"analyze": "analyse"}


class LazyGroup(click.Group):
    """Loads each command's module on first use; spelling aliases resolve to one command.

    Errors stay one line: a usage error (bad option value, unknown option, missing argument)
    is `posecheck: error: ... (see posecheck CMD --help)` rather than click's three-line usage
    block, and a standard output that cannot be written (`> /dev/full`, a full disk) is one
    line instead of an OSError traceback; click already ends quietly on a closed pipe.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.ClickException as exc:  # a usage error: one line, like every other error
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `posecheck`: the help itself
                exc.show()
                sys.exit(exc.exit_code)
            message = " ".join(exc.format_message().split())
            where = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) else ""
            click.echo(f"posecheck: error: {message}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("posecheck: interrupted", err=True)
            sys.exit(130)
        except OSError as exc:
            if not _stdout_broken():
                raise  # not the terminal's fault: a bug, keep its traceback
            _silence_stdout()
            click.echo(f"posecheck: error: cannot write to standard output: "
                       f"{exc.strerror or exc}", err=True)
            sys.exit(2)
        sys.exit(result if isinstance(result, int) else 0)  # --help, --version: click's Exit

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(ALIASES.get(cmd_name, cmd_name))

    @staticmethod
    def _load(name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command not written yet
                return None
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posecheck")
def main() -> None:
    """Pose-estimation form checker for hip exercises (glute bridges first).

    Counts reps and times the pause at the top from a video, a stream or a webcam,
    tells hip flexion from extension, and coaches form.
    """


def _stdout_broken() -> bool:
    """True when stdout cannot be written (`> /dev/full`, a full disk, an I/O error).

    The failed write has already been thrown away by the stream, so a newline is tried at the
    descriptor: it fails where the output failed. Only called once an OSError has escaped a
    command anyway, so a stray newline on a healthy stdout comes just before a traceback.
    """
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return False  # not a real file (a test's captured stream): nothing to blame
    try:
        sys.stdout.flush()
        os.write(fd, b"\n")
    except OSError:
        return True
    return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not fail once more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's captured stream)
        pass

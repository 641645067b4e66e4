"""deploy/: every command the process definitions run, and every MANNA_* variable they set, exists.

Parsed: the stack script, the systemd units, the Compose file and the Kubernetes manifests.
"""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest
import yaml

import celeryconfig
from cli.main import main
from pipeline.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Variables of the stack script itself (ports, paths), not of the application.
STACK_SCRIPT_VARS = {"MANNA_BIN", "MANNA_STACK_DIR", "MANNA_FLOWER_ADDRESS", "MANNA_FLOWER_PORT", "MANNA_API_HOST",
                     "MANNA_API_PORT"}


def _compose_commands() -> list[list[str]]:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return [service["command"] for service in services.values() if isinstance(service.get("command"), list)
            and service["command"][0] in {"manna", "celery"}]


def _k8s_commands() -> list[list[str]]:
    commands = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            spec = (document or {}).get("spec", {})
            pod = spec.get("template", {}).get("spec", {})
            commands += [container["command"] for container in pod.get("containers", []) if "command" in container]
    return commands


def _systemd_commands() -> list[list[str]]:
    commands = []
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read_string(path.read_text())
        for key in ("ExecStartPre", "ExecStart"):
            if unit.has_option("Service", key):
                argv = shlex.split(unit.get("Service", key))
                commands.append([Path(argv[0]).name, *argv[1:]])
    return commands


def _stack_commands() -> list[list[str]]:
    script = (DEPLOY / "stack.sh").read_text()
    lines = re.findall(r'^\s+[\w-]+\)\s+echo "\$BIN/(.+)" ;;$', script, flags=re.M)
    return [shlex.split(re.sub(r"\$\{[^}]+\}|\$\w+", "X", line)) for line in lines]


ALL_COMMANDS = {"compose": _compose_commands, "k8s": _k8s_commands, "systemd": _systemd_commands,
                "stack": _stack_commands}


@pytest.mark.parametrize("where", sorted(ALL_COMMANDS))
def test_every_command_exists_with_its_options(where):
    commands = ALL_COMMANDS[where]()
    assert len(commands) >= 4, f"{where}: expected the workers, beat, Flower and the API"
    for argv in commands:
        if argv[0] == "manna":
            _check_manna(argv[1:])
        else:
            _check_celery(argv)


def _check_manna(args: list[str]) -> None:
    command: click.Command = main
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        assert args[0] in command.commands, f"manna has no command {args[0]!r}"
        command, args = command.commands[args[0]], args[1:]
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    used = {arg.split("=")[0] for arg in args if arg.startswith("--")}
    assert used <= known, f"manna {command.name}: unknown options {used - known}"


def _check_celery(argv: list[str]) -> None:
    assert argv[0] == "celery" and argv[1:3] == ["-A", "workers.app"], argv
    assert argv[3] in {"worker", "beat"}, argv
    if "-Q" in argv:
        queues = set(argv[argv.index("-Q") + 1].replace("%i", "ingest").split(","))
        assert queues <= set(celeryconfig.QUEUES), argv


def test_every_manna_variable_is_a_setting():
    settings = {f"MANNA_{name.upper()}" for name in Settings.model_fields}
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".png"):
        used = set(re.findall(r"\bMANNA_[A-Z_]+\b", path.read_text()))
        unknown = used - settings - (STACK_SCRIPT_VARS if path.name in {"stack.sh", "README.md"} else set())
        assert not unknown, f"{path.relative_to(DEPLOY)} uses variables that are not settings: {unknown}"


def test_the_stack_script_explains_itself_without_servers():
    usage = subprocess.run([DEPLOY / "stack.sh"], capture_output=True, text=True)
    assert usage.returncode == 2 and "up | down | status | logs" in usage.stderr
    missing = subprocess.run([DEPLOY / "stack.sh", "up"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 2 and "MANNA_BROKER_URL" in missing.stderr and "MANNA_ADMIN_TOKEN" in missing.stderr

"""The example pipelines in ci/github-actions/ name only things this repository has, and take
secrets only from the CI secret store.

:func:`problems` reads one workflow and lists what is wrong: triggers, ``./run``
subcommands (from the ``run`` script's case statement), ``python -m lync_provider``
subcommands (from lync_provider/__main__.py's argparse calls), ``.venv/bin`` tools, stacks
(stacks/Pulumi.<name>.yaml), config keys (Pulumi.yaml), policy pack paths, and every way a
secret could be written inline. The last tests feed it broken workflows, so that a rule that
stopped finding anything would fail here too.
"""

from __future__ import annotations

import ast
import itertools
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "ci" / "github-actions").glob("*.yml"))
# The secrets the pipelines may use; docs/_readme_guardrails_ci.md tells which to create.
SECRETS = {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "LYNC_PASSWORD", "LYNC_EDGE_PASSWORD"}
SECRET_REF = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
EXPRESSION = re.compile(r"\$\{\{\s*(matrix|env)\.([A-Za-z0-9_-]+)\s*\}\}")
SECRET_NAME = re.compile(r"PASSWORD|PASSPHRASE|TOKEN|SECRET|CREDENTIAL", re.IGNORECASE)
PULUMI_ACTION = "pulumi/actions@"
# Pulumi flags that take a value (the value is not a positional argument).
VALUE_FLAGS = {
    "--stack",
    "-s",
    "--secrets-provider",
    "--policy-pack",
    "--policy-pack-config",
    "--cwd",
    "-C",
    "--config-file",
    "--message",
    "-m",
    "--parallel",
    "-p",
    "--target",
    "--replace",
    "--exclude",
    "--type",
    "--color",
}


def run_subcommands() -> set[str]:
    """The words the ``run`` script's ``case "${1:-}" in`` accepts."""
    text = (REPO / "run").read_text(encoding="utf-8")
    block = text.split('case "${1:-}" in', 1)[1].split("esac", 1)[0]
    words: set[str] = set()
    for pattern in re.findall(r"^\s*([^\s()]+)\)", block, flags=re.MULTILINE):
        words.update(p for p in pattern.split("|") if p != "*")
    return words


def lync_provider_subcommands() -> set[str]:
    """The names lync_provider/__main__.py gives ``add_parser``."""
    tree = ast.parse((REPO / "lync_provider" / "__main__.py").read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_parser"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def stacks() -> set[str]:
    return {p.name[len("Pulumi.") : -len(".yaml")] for p in (REPO / "stacks").glob("Pulumi.*.yaml")}


def config_keys() -> set[str]:
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
    return {f"{project['name']}:{key}" for key in project["config"]}


def triggers(workflow: Mapping[Any, Any]) -> Mapping[str, Any]:
    """``on:`` (PyYAML reads the bare key ``on`` as the boolean True)."""
    found = workflow.get("on", workflow.get(True))
    return found if isinstance(found, Mapping) else {}


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def combinations(job: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each matrix combination of the job (one empty one without a matrix)."""
    matrix = dict((job.get("strategy") or {}).get("matrix") or {})
    include = matrix.pop("include", [])
    matrix.pop("exclude", None)
    keys = list(matrix)
    combos = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())
    ]
    return [{k: str(v) for k, v in c.items()} for c in (combos or [{}]) + list(include)]


def substitute(text: str, values: Mapping[str, str], env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        source = values if match.group(1) == "matrix" else env
        return source.get(match.group(2), match.group(0))

    return EXPRESSION.sub(one, text)


def commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell script, as words (pipes, ``&&`` and ``;`` split)."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for token in lexer:
            if token in {"|", "||", "&&", ";", "&", "(", ")"}:
                if words:
                    yield words
                words = []
            else:
                words.append(token)
        if words:
            yield words


def positional(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in VALUE_FLAGS:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


def flag_values(words: list[str], *flags: str) -> list[str]:
    values = [b for a, b in itertools.pairwise(words) if a in flags]
    values += [w.split("=", 1)[1] for w in words for f in flags if w.startswith(f"{f}=")]
    return values


class Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[str] = []
        self.run_words = run_subcommands()
        self.cli_words = lync_provider_subcommands()
        self.stacks = stacks()
        self.keys = config_keys()

    def problem(self, where: str, text: str) -> None:
        self.found.append(f"{self.name}: {where}: {text}")

    def stack(self, where: str, name: str) -> None:
        # With Pulumi Cloud a stack may be written org/stack (or org/project/stack).
        if name.rsplit("/", 1)[-1] not in self.stacks:
            self.problem(where, f"stack {name!r} has no stacks/Pulumi.{name}.yaml")

    def pack(self, where: str, path: str) -> None:
        if not (REPO / path / "PulumiPolicy.yaml").is_file():
            self.problem(where, f"policy pack {path!r} has no PulumiPolicy.yaml")

    def pack_config(self, where: str, path: str) -> None:
        if not (REPO / path).is_file():
            self.problem(where, f"policy pack config {path!r} does not exist")

    def pulumi(self, where: str, words: list[str]) -> None:
        """The words after ``pulumi``."""
        for name in flag_values(words, "--stack", "-s"):
            self.stack(where, name)
        for path in flag_values(words, "--policy-pack"):
            self.pack(where, path)
        for path in flag_values(words, "--policy-pack-config"):
            self.pack_config(where, path)
        args = positional(words)
        if args[:2] == ["stack", "select"] and len(args) > 2:
            self.stack(where, args[2])
        if args[:2] == ["config", "set"]:
            if len(args) > 2 and args[2] not in self.keys:
                self.problem(where, f"config key {args[2]!r} is not declared in Pulumi.yaml")
            if "--secret" in words and len(args) > 3:
                self.problem(where, "a secret value on the command line; pipe it from an env var")

    def command(self, where: str, words: list[str]) -> None:
        program = words[0]
        if program == "./run":
            sub = words[1] if len(words) > 1 else ""
            if sub not in self.run_words:
                self.problem(where, f"./run has no subcommand {sub!r} ({sorted(self.run_words)})")
            if sub == "pulumi":
                self.pulumi(where, words[2:])
            return
        if program == "pulumi":
            self.pulumi(where, words[1:])
            return
        if program.startswith(".venv/bin/"):
            tool = program.removeprefix(".venv/bin/")
            if not (Path(sys.prefix) / "bin" / tool).exists():
                self.problem(where, f"{program}: the virtualenv has no {tool!r}")
        if program.rsplit("/", 1)[-1].startswith("python") and words[1:3] == [
            "-m",
            "lync_provider",
        ]:
            sub = words[3] if len(words) > 3 else ""
            if sub not in self.cli_words:
                self.problem(where, f"python -m lync_provider has no command {sub!r}")
            for name in flag_values(words, "--stack"):
                self.stack(where, name)

    def action(self, where: str, inputs: Mapping[str, Any]) -> None:
        if "stack-name" in inputs:
            self.stack(where, str(inputs["stack-name"]))
        for path in str(inputs.get("policyPacks") or "").split():
            self.pack(where, path)
        for path in str(inputs.get("policyPackConfigs") or "").split():
            self.pack_config(where, path)


def secret_problems(checker: Checker, workflow: Mapping[Any, Any]) -> None:
    """Secrets only as ``${{ secrets.X }}``, only into ``env:``, only the known ones."""
    for text in strings(workflow):
        for name in SECRET_REF.findall(text):
            if name not in SECRETS:
                checker.problem("secrets", f"{name} is not one of {sorted(SECRETS)}")
        if "secrets." in SECRET_REF.sub("", text):
            checker.problem(
                "secrets", f"a secret referenced other than as ${{{{ secrets.X }}}}: {text!r}"
            )
    envs: list[tuple[str, Mapping[str, Any]]] = [("env", workflow.get("env") or {})]
    for job_name, job in (workflow.get("jobs") or {}).items():
        envs.append((f"jobs.{job_name}.env", job.get("env") or {}))
        for index, step in enumerate(job.get("steps") or []):
            where = f"jobs.{job_name}.steps[{index}]"
            envs.append((f"{where}.env", step.get("env") or {}))
            if SECRET_REF.search(str(step.get("run") or "")):
                checker.problem(where, "a secret inside run:; pass it through env:")
    for where, env in envs:
        for key, value in env.items():
            if SECRET_NAME.search(str(key)) and not SECRET_REF.fullmatch(str(value).strip()):
                checker.problem(
                    where, f"{key} is not taken from ${{{{ secrets.{key} }}}}: {value!r}"
                )


def problems(workflow: Mapping[Any, Any], name: str = "workflow") -> list[str]:
    checker = Checker(name)
    on = triggers(workflow)
    for event in ("pull_request", "push"):
        branches = (
            (on.get(event) or {}).get("branches") if isinstance(on.get(event), Mapping) else None
        )
        if not branches:
            checker.problem("on", f"no {event} trigger with branches")
    secret_problems(checker, workflow)
    for job_name, job in (workflow.get("jobs") or {}).items():
        for values in combinations(job):
            env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
            for index, step in enumerate(job.get("steps") or []):
                where = f"jobs.{job_name}.steps[{index}]"
                if "run" in step:
                    script = substitute(
                        str(step["run"]), values, {**env, **(step.get("env") or {})}
                    )
                    for words in commands(script):
                        checker.command(where, words)
                if str(step.get("uses", "")).startswith(PULUMI_ACTION):
                    inputs = {
                        k: substitute(str(v), values, env)
                        for k, v in (step.get("with") or {}).items()
                    }
                    checker.action(where, inputs)
    return checker.found


def load(path: Path) -> Mapping[Any, Any]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(workflow, Mapping), f"{path.name} is not a YAML mapping"
    return workflow


def pulumi_steps(workflow: Mapping[Any, Any], command: str) -> list[Mapping[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps") or []
        if str(step.get("uses", "")).startswith(PULUMI_ACTION)
        and (step.get("with") or {}).get("command") == command
    ]


def test_there_is_a_workflow_per_stack_pattern() -> None:
    assert [p.name for p in WORKFLOWS] == ["lync-dev.yml", "lync-local.yml", "lync-prod.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_names_only_what_exists_and_keeps_secrets_in_the_store(path: Path) -> None:
    assert problems(load(path), path.name) == []


@pytest.mark.parametrize(
    "path", [p for p in WORKFLOWS if p.name != "lync-local.yml"], ids=lambda p: p.name
)
def test_real_environments_preview_on_pull_requests_and_update_on_push(path: Path) -> None:
    workflow = load(path)
    [preview] = pulumi_steps(workflow, "preview")
    [up] = pulumi_steps(workflow, "up")
    assert "pull_request" in preview["if"]
    assert "push" in up["if"]
    assert preview["with"]["comment-on-pr"] is True
    for step in (preview, up):
        assert step["with"]["refresh"] is True
        assert step["with"]["policyPacks"] == "policy"
        assert step["with"]["policyPackConfigs"].startswith("policy/config/")
    referenced = {n for text in strings(workflow) for n in SECRET_REF.findall(text)}
    assert referenced == SECRETS


def test_the_emulator_workflow_runs_the_policy_pack() -> None:
    workflow = load(REPO / "ci" / "github-actions" / "lync-local.yml")
    scripts = [str(s.get("run")) for j in workflow["jobs"].values() for s in j["steps"]]
    assert any(
        "./run pulumi preview" in s and "--refresh" in s and "--policy-pack policy" in s
        for s in scripts
    )
    assert "./run deploy" in scripts
    assert {n for text in strings(workflow) for n in SECRET_REF.findall(text)} == set()


# -- the checker itself, on workflows that are wrong on purpose ------------------------------

GOOD = """
on:
  pull_request: {branches: [develop]}
  push: {branches: [develop]}
jobs:
  dev:
    runs-on: ubuntu-latest
    env:
      PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
    strategy:
      matrix: {stack: [dev]}
    steps:
      - run: ./run setup
      - run: .venv/bin/python -m lync_provider check --stack ${{ matrix.stack }}
      - uses: pulumi/actions@v7
        with: {command: preview, stack-name: dev, policyPacks: policy}
"""


def broken(old: str, new: str) -> list[str]:
    assert old in GOOD
    return problems(yaml.safe_load(GOOD.replace(old, new, 1)))


def test_the_checker_passes_a_good_workflow() -> None:
    assert problems(yaml.safe_load(GOOD)) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("./run setup", "./run deploi", "./run has no subcommand 'deploi'"),
        ("./run setup", "./run pulumi up --stack staging", "stack 'staging'"),
        ("lync_provider check", "lync_provider verify", "no command 'verify'"),
        ("stack: [dev]", "stack: [dev, qa]", "stack 'qa'"),
        ("stack-name: dev", "stack-name: acme/uat", "stack 'acme/uat'"),
        (".venv/bin/python", ".venv/bin/pythonx", "no 'pythonx'"),
        ("policyPacks: policy", "policyPacks: policies", "policy pack 'policies'"),
        ("pull_request: {branches: [develop]}", "pull_request: {}", "no pull_request trigger"),
        ("push: {branches: [develop]}", "workflow_dispatch: {}", "no push trigger"),
        (
            "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            "contoso-example",
            "PULUMI_CONFIG_PASSPHRASE is not taken from",
        ),
        ("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", "${{ secrets.OTHER }}", "OTHER is not one of"),
        (
            "./run setup",
            "pulumi login --cloud-url x ${{ secrets.PULUMI_ACCESS_TOKEN }}",
            "a secret inside run:",
        ),
        (
            "./run setup",
            "pulumi config set --secret lync:password hunter2",
            "a secret value on the command line",
        ),
        ("./run setup", "pulumi config set lync:pasword x", "'lync:pasword' is not declared"),
    ],
)
def test_the_checker_finds_what_is_wrong(old: str, new: str, expected: str) -> None:
    found = broken(old, new)
    assert any(expected in p for p in found), found

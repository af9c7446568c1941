"""What a script that starts a VM to run a batch job does, read with the shell parser:
the launch, what the VM runs and how, and the Kubernetes Job that runs the same.

The implementation of the `vm-batch-to-k8s-job` rule, imported only when the rule reads
a script (a scan of a Python repository never loads it).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from infragap.migrate.generators.k8s_job import GPU, EnvVar, JobSpec, Machine, machine
from infragap.migrate.rules.vm_batch_to_k8s_job import DEFAULT_DEADLINE_S, RULE_ID
from infragap.migrate.shell.evidence import SECRET_NAME
from infragap.migrate.shell.nodes import command_name
from infragap.migrate.shell.steps import step_name
from infragap.migrate.shell.syntax import (
    Node,
    NotShell,
    Script,
    named_children,
    parse_script,
    walk,
)

SECRET = re.compile(rf"{SECRET_NAME.pattern}|(?i:access_?key|key_?id)")
PYTHON = re.compile(r"(?:.*/)?(?:python[0-9.]*|torchrun|deepspeed|accelerate)")
GLOB = re.compile(r"(?<!\\)[*?\[]")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
POSITIONAL = re.compile(r"[0-9]+|[@*#?$!-]")
DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)")
SHELL = "/bin/sh"
SECRET_VALUE = ""  # Site.unknown's note for a credential: its value is never copied
LOOPS = frozenset({"for_statement", "c_style_for_statement", "while_statement", "until_statement"})
WAIT_LOOPS = frozenset({"while_statement", "until_statement"})
MESSAGES = frozenset({"echo", "printf", ":", "true", "set", "wait", "exit", "date", "trap"})
SETUP = frozenset(
    {"apt-get", "apt", "yum", "dnf", "pip", "pip3", "conda", "mamba", "git", "source", "."}
    | {"curl", "wget", "docker", "nvidia-smi", "mkdir", "chmod", "chown", "tar", "unzip"}
)
WRAPPERS = frozenset({"nohup", "sudo", "timeout", "env", "exec"})
WRAPPER_VALUED = frozenset({"-u", "-g", "-s", "-k", "-C"})  # sudo's and timeout's
SSH_VALUED = frozenset("BbcDEeFIiJLlmOoPpQRSWw")  # ssh's options that take a value
REDIRECTS = frozenset({">", ">>", "&>", "&>>", ">|"})
TEARDOWN = (
    ("aws", "ec2", "terminate-instances"),
    ("aws", "ec2", "stop-instances"),
    ("gcloud", "compute", "instances", "delete"),
    ("gcloud", "compute", "instances", "stop"),
    ("az", "vm", "delete"),
    ("az", "vm", "deallocate"),
    ("az", "vm", "stop"),
    ("az", "group", "delete"),
    ("shutdown",),
    ("poweroff",),
    ("halt",),
)
COPY = (
    ("scp",),
    ("rsync",),
    ("azcopy",),
    ("gsutil", "cp"),
    ("gsutil", "rsync"),
    ("gsutil", "mv"),
    ("gcloud", "storage", "cp"),
    ("gcloud", "storage", "rsync"),
    ("gcloud", "compute", "scp"),
    ("aws", "s3", "cp"),
    ("aws", "s3", "sync"),
    ("aws", "s3", "mv"),
    ("az", "storage", "blob"),
    ("az", "storage", "copy"),
)
WAIT = (
    ("sleep",),
    ("aws", "ec2", "wait"),
    ("az", "vm", "wait"),
    ("gcloud", "compute", "operations", "wait"),
)

# -- shell words, read without running anything -----------------------------------------


@dataclass(frozen=True)
class Piece:
    """Part of a word: literal text, a variable (`${NAME:-default}`), or shell code only
    running it answers (`$(date)`, `$1`). `quoted`: no tilde, glob or splitting applies."""

    kind: Literal["text", "var", "shell"]
    text: str
    default: str | None = None
    quoted: bool = False


def pieces(script: Script, node: Node, quoted: bool = False) -> list[Piece]:
    merged: list[Piece] = []
    for piece in _pieces(script, node, quoted):
        last = merged[-1] if merged else None
        if last and piece.kind == last.kind == "text" and piece.quoted == last.quoted:
            merged[-1] = replace(last, text=last.text + piece.text)
        else:
            merged.append(piece)
    return merged


def _pieces(script: Script, node: Node, quoted: bool) -> Iterator[Piece]:
    kind, code = node.type, script.code(node)
    if kind == "command_name":
        yield from _pieces(script, node.children[0], quoted)
    elif kind in ("word", "number"):
        yield Piece("text", re.sub(r"\\(.)", r"\1", code, flags=re.DOTALL), quoted=quoted)
    elif kind == "raw_string":
        yield Piece("text", code[1:-1], quoted=True)
    elif kind in ("string", "heredoc_body"):
        yield from _double_quoted(script, node)
    elif kind == "concatenation":
        for child in node.children:
            yield from _pieces(script, child, quoted)
    elif kind in ("simple_expansion", "expansion"):
        yield _expansion(script, node, quoted)
    else:  # command or process substitution, arithmetic, $'...'
        yield Piece("shell", code, quoted=quoted)


def _double_quoted(script: Script, node: Node) -> Iterator[Piece]:
    """A "..." string or an expanding here-document: text between the children is
    literal, so walk by byte offsets, not node types."""
    edge = 1 if node.type == "string" else 0
    position, end = node.start_byte + edge, node.end_byte - edge
    for child in node.children:
        if child.type in ('"', "string_content", "heredoc_content"):
            continue
        if child.start_byte > position:
            yield Piece("text", _unescape(script.data[position : child.start_byte]), quoted=True)
        yield from _pieces(script, child, True)
        position = child.end_byte
    if end > position:
        yield Piece("text", _unescape(script.data[position:end]), quoted=True)


def _unescape(raw: bytes) -> str:
    return re.sub(
        r"\\([\\\"$`\n])", lambda m: "" if m.group(1) == "\n" else m.group(1), raw.decode()
    )


def _expansion(script: Script, node: Node, quoted: bool) -> Piece:
    children = named_children(node)
    operator = node.child_by_field_name("operator")
    if not children or children[0].type != "variable_name":
        return Piece("shell", script.code(node), quoted=quoted)  # $1, $@, ${#A}, ${A[0]}
    name = script.code(children[0])
    if POSITIONAL.fullmatch(name):
        return Piece("shell", script.code(node), quoted=quoted)  # the script's arguments
    if operator is None and len(children) == 1:
        return Piece("var", name, quoted=quoted)
    if operator is not None and script.code(operator) in (":-", "-"):
        default = "".join(
            p.text for child in children[1:] for p in pieces(script, child) if p.kind == "text"
        )
        return Piece("var", name, default=default, quoted=quoted)
    return Piece("shell", script.code(node), quoted=quoted)


def shown(code: str, width: int = 88) -> str:
    """A command on one line for a comment: continuations joined, a long one cut."""
    line = re.sub(r"\s*\\\n\s*", " ", code.strip()).split("\n", 1)[0].strip()
    return line if len(line) <= width else line[: width - 3].rstrip() + "..."


# -- the script's variables ---------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    name: str
    line: int
    value: Node | None  # None: a bare `export NAME`
    exported: bool
    code: str


class Variables:
    """The variables a script sets at its top level, in order, and their values where
    they are known without running anything."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.assignments: list[Assignment] = []
        for node in named_children(script.root):
            if node.type == "variable_assignment":
                self._add(node, node, exported=False)
            elif node.type == "declaration_command":
                code = script.code(node)
                exported = code.startswith("export") or bool(re.match(r"\w+\s+-\w*x", code))
                for child in named_children(node):
                    if child.type == "variable_assignment":
                        self._add(child, node, exported)
                    elif child.type == "variable_name" and exported:
                        name, line = script.code(child), script.line(node)
                        self.assignments.append(Assignment(name, line, None, True, code))

    def _add(self, node: Node, statement: Node, exported: bool) -> None:
        name = self.script.code(node.child_by_field_name("name"))
        value = node.child_by_field_name("value")
        line, code = self.script.line(node), self.script.code(statement)
        self.assignments.append(Assignment(name, line, value, exported, code))

    def last(self, name: str, before: int) -> Assignment | None:
        found = [a for a in self.assignments if a.name == name and a.line <= before]
        valued = [a for a in found if a.value is not None]
        return valued[-1] if valued else None

    def exported(self, before: int) -> list[str]:
        return list(
            dict.fromkeys(a.name for a in self.assignments if a.exported and a.line <= before)
        )

    def value(self, name: str, before: int, depth: int = 0) -> str | None:
        """What `name` holds at line `before`; None when only running the script tells."""
        found = self.last(name, before)
        if found is None or found.value is None or depth > 8:
            return None
        # The value's own variables are those set before it (`A=${A:-x}` reads the old A).
        return self.literal(pieces(self.script, found.value), found.line - 1, depth + 1)

    def literal(self, parts: Sequence[Piece], before: int, depth: int = 0) -> str | None:
        text = []
        for piece in parts:
            value = piece.text if piece.kind == "text" else None
            if piece.kind == "var":
                value = self.value(piece.text, before, depth)
                if value is None and self.last(piece.text, before) is None:
                    value = piece.default  # ${NAME:-default} of a variable nothing sets
            if value is None:
                return None
            text.append(value)
        return "".join(text)

    def where(self, name: str, before: int) -> str:
        found = self.last(name, before)
        return f"line {found.line}: `{shown(found.code, 60)}`" if found else "not set in the script"

    def expand(self, parts: Sequence[Piece], before: int) -> tuple[str, dict[str, str]]:
        """The text a command receives: known values put in; the others kept as `${NAME}`
        (or as the shell code), with where they come from."""
        text: list[str] = []
        unknown: dict[str, str] = {}
        for piece in parts:
            if piece.kind == "text":
                text.append(piece.text)
                continue
            secret = piece.kind == "var" and SECRET.search(piece.text) is not None
            value = self.literal([piece], before) if piece.kind == "var" else None
            if value is None or secret:  # a credential's value is never copied
                unknown.setdefault(piece.text, SECRET_VALUE if secret else self._why(piece, before))
                text.append(f"${{{piece.text}}}" if piece.kind == "var" else piece.text)
            else:
                text.append(value)
        return "".join(text), unknown

    def _why(self, piece: Piece, before: int) -> str:
        if piece.kind == "var":
            return self.where(piece.text, before)
        if re.fullmatch(r"\$\{?(?:[0-9]+|[@*#])\}?", piece.text):
            return "an argument of the script"
        return "run by the script where it runs, by the container's shell now"


# -- commands -------------------------------------------------------------------------


def commands(node: Node) -> list[Node]:
    return [n for n in walk(node) if n.type == "command"]


def arguments(command: Node) -> list[Node]:
    return list(command.children_by_field_name("argument"))


def words(script: Script, command: Node) -> list[str]:
    """The command's name and arguments: literal text where they are, else as written."""
    out = [command_name(command).rsplit("/", 1)[-1]]
    for arg in arguments(command):
        parts = pieces(script, arg)
        literal = all(p.kind == "text" for p in parts)
        out.append("".join(p.text for p in parts) if literal else script.code(arg))
    return out


def runs(found: Sequence[str], *sub: str) -> bool:
    """`aws --region x ec2 run-instances`: the tool, then `sub`'s other words in a row."""
    if not found or found[0] != sub[0]:
        return False
    rest = tuple(sub[1:])
    return not rest or any(
        tuple(found[i : i + len(rest)]) == rest for i in range(1, len(found) - len(rest) + 1)
    )


def sort_of(found: Sequence[str]) -> str:
    """copy, teardown, wait, message, setup or "" (anything else)."""
    for kind, patterns in (("copy", COPY), ("teardown", TEARDOWN), ("wait", WAIT)):
        if any(runs(found, *pattern) for pattern in patterns):
            return kind
    name = found[0] if found else ""
    return "message" if name in MESSAGES else "setup" if name in SETUP else ""


def option(script: Script, command: Node, name: str) -> list[Piece] | None:
    """The value of `NAME VALUE` or `NAME=VALUE` (the last one given); None if absent."""
    args = arguments(command)
    found = None
    for index, arg in enumerate(args):
        parts = pieces(script, arg)
        head = parts[0].text if parts and parts[0].kind == "text" else ""
        if head == name and len(parts) == 1 and index + 1 < len(args):
            found = pieces(script, args[index + 1])
        elif head.startswith(f"{name}="):
            first = replace(parts[0], text=head[len(name) + 1 :])
            found = [first, *parts[1:]] if first.text else parts[1:]
    return found


def unwrap(script: Script, command: Node) -> tuple[list[Node], dict[str, str], list[str]]:
    """The words past `nohup`, `sudo -u USER`, `timeout 6h`, `env A=1`, `exec`: (the
    real command's words, the variables `env` sets, the wrappers: "sudo", "timeout=6h")."""
    nodes = [command.child_by_field_name("name"), *arguments(command)]
    found = words(script, command)
    index, env, seen = 0, {}, []
    while index < len(found) and found[index] in WRAPPERS:
        wrapper = found[index]
        seen.append(wrapper)
        index += 1
        while index < len(found) and found[index].startswith("-"):
            index += 2 if found[index] in WRAPPER_VALUED else 1
        if wrapper == "timeout" and index < len(found):
            seen.append(f"timeout={found[index]}")
            index += 1
        while wrapper == "env" and index < len(found) and "=" in found[index]:
            name, _, value = found[index].partition("=")
            env[name] = value
            index += 1
    return nodes[index:], env, seen


def seconds(duration: str) -> int | None:
    """`timeout`'s duration (`90`, `30m`, `6h`, `1.5d`) in seconds."""
    match = DURATION.fullmatch(duration)
    if match is None:
        return None
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return max(1, int(float(match.group(1)) * unit))


def dns_name(text: str, fallback: str) -> str:
    """A Kubernetes name (RFC 1123 label): lower case, digits and '-', at most 63."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].rstrip("-")
    return name or fallback


# -- the launch ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cloud:
    what: str  # "aws ec2 run-instances"
    machine_option: str
    image_options: tuple[str, ...]  # the VM's boot image
    boot_options: tuple[str, ...]  # options whose value is the VM's start-up script
    count_option: str = ""


CLOUDS = (
    Cloud("aws ec2 run-instances", "--instance-type", ("--image-id",), ("--user-data",),
          "--count"),
    Cloud("gcloud compute instances create", "--machine-type", ("--image", "--image-family"),
          ("--metadata", "--metadata-from-file")),
    Cloud("az vm create", "--size", ("--image",), ("--custom-data", "--user-data"), "--count"),
)  # fmt: skip


@dataclass(frozen=True)
class Launch:
    cloud: Cloud
    node: Node
    line: int
    machine_type: str  # "" when the script leaves it to the cloud, or computes it
    machine_written: str  # as the script writes it
    gpus: int  # from gcloud's --accelerator
    count: str  # how many VMs, as written ("1" by default)
    vm_image: str  # the VM's boot image, as written


def launch_of(script: Script, command: Node, variables: Variables) -> Launch | None:
    found = words(script, command)
    cloud = next((c for c in CLOUDS if runs(found, *c.what.split())), None)
    if cloud is None:
        return None
    line = script.line(command)
    value = option(script, command, cloud.machine_option)
    written = _written(value or [])
    machine_type = (variables.literal(value, line) or "") if value is not None else ""
    gpus = 0
    accelerator = option(script, command, "--accelerator")
    if accelerator is not None:
        given = re.search(r"count=([0-9]+)", variables.literal(accelerator, line) or "")
        gpus = int(given.group(1)) if given else 1
    count_value = option(script, command, cloud.count_option) if cloud.count_option else None
    count = (variables.literal(count_value, line) or "?") if count_value is not None else "1"
    if cloud.what.startswith("gcloud"):  # one VM per name: the words after `create`
        names = found[found.index("create") + 1 :]
        count = str(len(list(_positional(names))) or 1)
    image = next((v for o in cloud.image_options if (v := option(script, command, o))), None)
    vm_image = _written(image or [])
    return Launch(cloud, command, line, machine_type, written, gpus, count, vm_image)


def _written(parts: Sequence[Piece]) -> str:
    return "".join(f"${p.text}" if p.kind == "var" else p.text for p in parts)


def _positional(found: Sequence[str]) -> Iterator[str]:
    """The words before the first option (gcloud's instance names)."""
    for word in found:
        if word.startswith("-"):
            return
        yield word


# -- what the VM ran --------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A command the VM ran, as the VM saw it: the script's variables put in where the
    script expanded them before sending it; those it could not stay in `unknown`."""

    text: str
    origin: str  # "ssh, line 17"
    line: int  # the script's line
    file: str = ""  # the file the text came from, if any
    unknown: Mapping[str, str] = field(default_factory=dict)  # variable -> where it is set
    first_line: int = 0  # the script's line the text starts on (inline text)


@dataclass(frozen=True)
class Step:
    node: Node
    kind: str  # "job", "cd", "assign", or a sort_of() kind
    background: bool = False


@dataclass(frozen=True)
class Remote:
    """One site's command text, parsed into steps (`a && b` is two)."""

    site: Site
    script: Script
    steps: tuple[Step, ...]

    def _jobs(self) -> list[int]:
        return [i for i, step in enumerate(self.steps) if step.kind == "job"]

    @property
    def job(self) -> tuple[Step, ...]:
        jobs = self._jobs()
        return self.steps[jobs[0] : jobs[-1] + 1] if jobs else ()

    @property
    def before(self) -> tuple[Step, ...]:
        jobs = self._jobs()
        return self.steps[: jobs[0]] if jobs else self.steps

    @property
    def after(self) -> tuple[Step, ...]:
        jobs = self._jobs()
        return self.steps[jobs[-1] + 1 :] if jobs else ()

    def where(self, node: Node) -> str:
        line = self.script.line(node)
        if self.site.file:
            return f"{self.site.file}:{line}"
        return f"line {self.site.first_line + line - 1}, on the VM"

    def job_text(self) -> str:
        job = self.job
        return self.script.data[job[0].node.start_byte : job[-1].node.end_byte].decode()


def read_remote(site: Site) -> Remote:
    """The site's text as steps (`bash -lc '...'` is what it runs); NotShell when it
    does not parse."""
    script = parse_script(site.text)
    inner = _shell_c(script)
    if inner is not None:
        return read_remote(replace(site, text=inner))
    steps = []
    for node in named_children(script.root):
        if node.type == "comment":
            continue
        background = node.next_sibling is not None and node.next_sibling.type == "&"
        steps += [Step(item, _kind(script, item), background) for item in _flattened(node)]
    return Remote(site, script, tuple(steps))


def _shell_c(script: Script) -> str | None:
    """The commands of a text that is only `bash -c 'CMDS'` (or `sh -lc`), as literal text."""
    statements = [n for n in named_children(script.root) if n.type != "comment"]
    if len(statements) != 1 or statements[0].type != "command":
        return None
    found = words(script, statements[0])
    args = arguments(statements[0])
    if found[0] not in ("bash", "sh") or len(args) < 2 or not re.fullmatch(r"-\w*c", found[-2]):
        return None
    parts = pieces(script, args[-1])
    return "".join(p.text for p in parts) if all(p.kind == "text" for p in parts) else None


def _flattened(node: Node) -> list[Node]:
    """`a && b && c` as its commands; a list with `||` stays whole."""
    if node.type != "list" or any(child.type == "||" for child in node.children):
        return [node]
    return [item for child in named_children(node) for item in _flattened(child)]


def is_job(script: Script, command: Node) -> bool:
    nodes = unwrap(script, command)[0]
    if not nodes:
        return False
    parts = pieces(script, nodes[0])
    if len(parts) == 1 and parts[0].kind == "var" and "PYTHON" in parts[0].text:
        return True  # "$PYTHON" train.py, as shell-pipeline reads it too
    head = "".join(p.text for p in parts if p.kind == "text")
    return PYTHON.fullmatch(head) is not None


def _kind(script: Script, node: Node) -> str:
    if any(is_job(script, c) for c in commands(node)):
        return "job"
    if node.type in ("variable_assignment", "declaration_command"):
        return "assign"
    if node.type in WAIT_LOOPS:
        return "wait"
    body = node.child_by_field_name("body") if node.type == "redirected_statement" else node
    if body is None or body.type != "command":
        return ""
    if command_name(body) == "cd":
        return "cd"
    nodes = unwrap(script, body)[0]
    real = ["".join(p.text for p in pieces(script, n)) for n in nodes]
    return sort_of([real[0].rsplit("/", 1)[-1], *real[1:]] if real else [])


def site_of(script: Script, command: Node, variables: Variables) -> Site | None:
    """The remote command of `ssh HOST CMD`, `gcloud compute ssh --command CMD`, `az vm
    run-command invoke --scripts CMD...`; None for any other command."""
    found = words(script, command)
    args = arguments(command)
    line = script.line(command)
    chosen: list[Node] = []
    origin = ""
    if found[0] == "ssh":
        chosen, origin = _ssh_command(script, args), f"ssh at line {line}"
        fed = _fed(script, command)
        if fed is not None and (not chosen or _is_shell(script, chosen)):
            text, unknown = variables.expand(fed[1], line)
            return Site(text, origin, line, unknown=unknown, first_line=fed[0])
    elif runs(found, "gcloud", "compute", "ssh"):
        origin = f"gcloud compute ssh at line {line}"
        texts = [script.code(arg) for arg in args]
        if "--" in texts:
            chosen = args[texts.index("--") + 1 :]
        value = option(script, command, "--command")
        if value is not None:
            text, unknown = variables.expand(value, line)
            return Site(text, origin, line, unknown=unknown, first_line=line)
    elif runs(found, "az", "vm", "run-command"):
        origin = f"az vm run-command at line {line}"
        texts = [script.code(arg) for arg in args]
        if "--scripts" in texts:
            rest = args[texts.index("--scripts") + 1 :]
            chosen = list(_positional_nodes(script, rest))
    if not chosen:
        return None
    expanded = [variables.expand(pieces(script, arg), line) for arg in chosen]
    unknown = {name: why for _, found_unknown in expanded for name, why in found_unknown.items()}
    separator = "\n" if found[0] == "az" else " "
    text = separator.join(text for text, _ in expanded)
    return Site(text, origin, line, unknown=unknown, first_line=script.line(chosen[0]))


def _fed(script: Script, command: Node) -> tuple[int, list[Piece]] | None:
    """(its first line, the here-document) a command reads: `ssh HOST <<'EOF'`."""
    parent = command.parent
    if parent is None or parent.type != "redirected_statement":
        return None
    docs = [n for n in walk(parent) if n.type == "heredoc_body"]
    return (script.line(docs[0]), _heredoc(script, docs[0])) if len(docs) == 1 else None


def _is_shell(script: Script, words_: Sequence[Node]) -> bool:
    """`bash`, `bash -s`, `sudo sh -l`: a shell reading its commands from the input."""
    texts = [script.code(word) for word in words_]
    texts = texts[1:] if texts[:1] == ["sudo"] else texts
    return bool(texts) and texts[0] in ("bash", "sh") and all(t.startswith("-") for t in texts[1:])


def _ssh_command(script: Script, args: Sequence[Node]) -> list[Node]:
    """The words after ssh's options and destination (ssh joins them with spaces)."""
    index = 0
    while index < len(args):
        text = script.code(args[index])
        if text == "--":
            index += 1
            break
        if not text.startswith("-") or len(text) < 2:
            break
        flags = text[1:]
        step = 1
        for position, flag in enumerate(flags):
            if flag in SSH_VALUED:
                step = 1 if position + 1 < len(flags) else 2
                break
        index += step
    return list(args[index + 1 :])


def _positional_nodes(script: Script, args: Sequence[Node]) -> Iterator[Node]:
    for arg in args:
        if script.code(arg).startswith("--"):
            return
        yield arg


def boot_site(
    script: Script,
    launch: Launch,
    variables: Variables,
    written: Mapping[str, tuple[str, dict[str, str]]],
    files: Mapping[str, str],
    folder: str,
) -> Site | str | None:
    """The VM's start-up script, or why it cannot be read here; None when it has none."""
    line = launch.line
    for name in launch.cloud.boot_options:
        value = option(script, launch.node, name)
        if value is not None and name.startswith("--metadata"):
            value = _startup_entry(value)
        if value is None:
            continue
        is_file = name == "--metadata-from-file"
        if value and value[0].kind == "text" and value[0].text.startswith("file://"):
            is_file, value = True, [replace(value[0], text=value[0].text[7:]), *value[1:]]
        if len(value) == 1 and value[0].kind == "var":  # "$STARTUP": what the script put there
            assigned = variables.last(value[0].text, line)
            if assigned is not None and assigned.value is not None:
                value = pieces(script, assigned.value)
        if len(value) == 1 and value[0].kind == "shell":  # "$(cat boot.sh)", a here-document
            inner = _cat(value[0].text)
            if inner is None:
                return f"{name} is computed by `{shown(value[0].text, 50)}`: migrate by hand"
            is_file, value = inner
        path = variables.literal(value, line) or ""
        named = path in written or _lookup(files, folder, path) is not None
        if is_file or (name in ("--custom-data", "--user-data") and named and "\n" not in path):
            if not path:
                return f"{name} names a file the script computes: migrate by hand"
            origin = f"its start-up script ({name} {path})"
            if path in written:
                text, unknown = written[path]
                return Site(text, origin, line, file=path, unknown=unknown)
            found = _lookup(files, folder, path)
            if found is None:
                return f"{name} names {path}, which is not a shell script of this repository"
            return Site(found[1], origin, line, file=found[0])
        text, unknown = variables.expand(value, line)
        origin = f"its start-up script ({name} at line {line})"
        first = _value_line(script, launch.node, name)
        return Site(text, origin, line, unknown=unknown, first_line=first)
    return None


def _startup_entry(value: list[Piece]) -> list[Piece] | None:
    """The startup-script entry of gcloud's KEY=VALUE,... list; None when it has none."""
    head = value[0].text if value and value[0].kind == "text" else ""
    match = re.search(r"(?:^|,)startup-script=", head)
    if match is None:
        return None
    rest = replace(value[0], text=head[match.end() :])
    return [rest, *value[1:]] if rest.text else value[1:]


def _cat(code: str) -> tuple[bool, list[Piece]] | None:
    """`$(cat FILE)` -> (True, FILE); `$(cat <<'EOF' ... EOF)` -> (False, its text)."""
    try:
        inner = parse_script(code[2:-1] if code.startswith("$(") else code.strip("`"))
    except NotShell:
        return None
    statements = [n for n in named_children(inner.root) if n.type != "comment"]
    if len(statements) != 1:
        return None
    node = statements[0]
    body = node.child_by_field_name("body") if node.type == "redirected_statement" else node
    if body is None or body.type != "command" or command_name(body) != "cat":
        return None
    docs = [n for n in walk(node) if n.type == "heredoc_body"]
    if docs:
        return False, _heredoc(inner, docs[0])
    args = arguments(body)
    return (True, pieces(inner, args[0])) if len(args) == 1 else None


def _heredoc(script: Script, body: Node) -> list[Piece]:
    """A here-document's text: literal after a quoted `<<'EOF'`, else it expands."""
    opener = next((c for c in body.parent.children if c.type == "heredoc_start"), None)
    if opener is not None and script.code(opener)[:1] in ("'", '"', "\\"):
        return [Piece("text", script.code(body), quoted=True)]
    return pieces(script, body, True)


def written_files(script: Script, variables: Variables) -> dict[str, tuple[str, dict[str, str]]]:
    """{file: (text, unknown)} the script writes from here-documents (`cat > boot.sh
    <<'EOF'`), with its variables put in, and those it could not (see `expand`)."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for node in walk(script.root):
        body = node.child_by_field_name("body") if node.type == "redirected_statement" else None
        if body is None or body.type != "command" or command_name(body) != "cat":
            continue
        docs = [n for n in walk(node) if n.type == "heredoc_body"]
        targets = [
            n.child_by_field_name("destination")
            for n in walk(node)
            if n.type == "file_redirect" and script.code(n).lstrip("0123456789")[:1] == ">"
        ]
        if len(docs) == 1 and len(targets) == 1 and targets[0] is not None:
            line = script.line(node)
            name = variables.literal(pieces(script, targets[0]), line)
            if name:
                found[name] = variables.expand(_heredoc(script, docs[0]), line)
    return found


def _lookup(files: Mapping[str, str], folder: str, path: str) -> tuple[str, str] | None:
    """A file the launch names, from the script's folder or the repository root."""
    if not path or "\n" in path:
        return None
    for candidate in (posixpath.join(folder, path), path):
        key = posixpath.normpath(candidate)
        if key in files:
            return key, files[key]
    return None


def _value_line(script: Script, command: Node, name: str) -> int:
    for arg in arguments(command):
        if script.code(arg) == name and arg.next_named_sibling is not None:
            return script.line(arg.next_named_sibling)
        if script.code(arg).startswith(name):
            return script.line(arg)
    return script.line(command)


# -- the whole script -------------------------------------------------------------------


@dataclass(frozen=True)
class Todo:
    kind: str  # a key of GROUPS
    where: str  # "line 14", "boot.sh:3", "line 9, on the VM"
    code: str


@dataclass(frozen=True)
class Analysis:
    """A VM started for a batch job: the launch, what ran the job, and the rest."""

    launch: Launch
    variables: Variables
    remotes: tuple[Remote, ...] = ()
    todos: tuple[Todo, ...] = ()
    problem: str = ""  # why no Job is written for it
    errexit: bool = False

    def summary(self) -> str:
        jobs = "; ".join(f"`{shown(r.job_text(), 60)}` ({r.site.origin})" for r in self.remotes)
        job = f": {jobs}" if jobs else ""
        return (
            f"a VM started for a batch job ({self.launch.cloud.what}, line {self.launch.line}){job}"
        )


def analyse(script: Script, files: Mapping[str, str], folder: str) -> Analysis | None:
    """The batch launch in `script`; None when it starts no VM that runs a Python job."""
    variables = Variables(script)
    launches = [
        found
        for command in commands(script.root)
        if (found := launch_of(script, command, variables))
    ]
    if not launches:
        return None
    launch = launches[0]
    remotes: list[Remote] = []
    todos: list[Todo] = []
    problems: list[str] = []
    boot = boot_site(script, launch, variables, written_files(script, variables), files, folder)
    if isinstance(boot, str):  # a TODO when another command runs the job, else unknown
        todos.append(Todo("setup", f"line {launch.line}", f"its start-up script: {boot}"))
    elif boot is not None:
        _read(boot, remotes, todos, problems)
    job_sites: set[int] = set()
    for command in commands(script.root):
        if command.start_byte < launch.node.end_byte or _inside(command, WAIT_LOOPS):
            continue
        site = site_of(script, command, variables)
        if site is not None and _read(site, remotes, todos, problems, after=bool(remotes)):
            job_sites.add(command.id)
    if not remotes and not problems:
        return None  # a VM for something else (a server, a notebook): not a batch launch
    problems += _blockers(script, launch, launches, remotes)
    errexit = any(
        command_name(c) == "set" and re.search(r"(?:^|\s)-\w*e", " ".join(words(script, c)[1:]))
        for c in commands(script.root)
    )
    skipped = {launch.node.id, *job_sites}
    todos += _script_todos(script, skipped)
    todos.sort(key=_order)
    return Analysis(
        launch, variables, tuple(remotes), tuple(todos), "; ".join(problems), bool(errexit)
    )


def _read(
    site: Site, remotes: list[Remote], todos: list[Todo], problems: list[str], after: bool = False
) -> bool:
    """Add the site's job, or its steps as TODOs (`after`: it runs after the job); True
    when it runs the job."""
    try:
        remote = read_remote(site)
    except NotShell as err:
        if PYTHON.search(site.text):
            problems.append(f"the command of {site.origin} is {err}")
        return False
    steps = remote.before if remote.job else remote.steps
    for step in () if after and not remote.job else steps:
        if step.kind in ("copy", "setup", "teardown", "wait", ""):
            kind = step.kind or "setup"
            todos.append(Todo(kind, remote.where(step.node), shown(remote.script.code(step.node))))
    for step in remote.steps if after and not remote.job else remote.after:
        if step.kind not in ("message", "assign", "cd"):
            kind = step.kind if step.kind in ("copy", "teardown", "wait") else "after"
            todos.append(Todo(kind, remote.where(step.node), shown(remote.script.code(step.node))))
    if remote.job:
        remotes.append(remote)
    return bool(remote.job)


def _blockers(
    script: Script, launch: Launch, launches: Sequence[Launch], remotes: Sequence[Remote]
) -> list[str]:
    problems = []
    if len(launches) > 1:
        lines = ", ".join(str(found.line) for found in launches)
        problems.append(
            f"{len(launches)} VMs are started (lines {lines}): write one Job per VM by hand"
        )
    if _inside(launch.node, LOOPS):
        problems.append("the VM is started inside a loop: an indexed Job (completions) may fit")
    if _inside(launch.node, frozenset({"function_definition"})):
        problems.append("the VM is started inside a function: migrate by hand")
    if launch.count not in ("1", "1:1"):
        problems.append(f"{launch.count} VMs are started at once: a Job with parallelism may fit")
    for remote in remotes:
        if any(step.background for step in remote.job) and len(remote.job) > 1:
            problems.append(f"{remote.site.origin} runs its steps in the background")
    folders = {workdir(remote) for remote in remotes}
    if len(folders) > 1:
        problems.append("the job's commands run in different folders: migrate by hand")
    return problems


def _inside(node: Node, kinds: frozenset[str]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in kinds:
            return True
        parent = parent.parent
    return False


def _script_todos(script: Script, skipped: set[int]) -> list[Todo]:
    """What the script did around the job: copies, waits, teardown (traps included)."""
    todos: list[Todo] = []
    for node in walk(script.root):
        if node.type in WAIT_LOOPS and not _inside(node, WAIT_LOOPS):
            todos.append(Todo("wait", f"line {script.line(node)}", shown(script.code(node))))
        if node.type != "command" or node.id in skipped or _inside(node, WAIT_LOOPS):
            continue
        found = words(script, node)
        kind = sort_of(found)
        where = f"line {script.line(node)}"
        if kind in ("copy", "teardown", "wait"):
            todos.append(Todo(kind, where, shown(script.code(node))))
        elif found[0] == "trap" and len(found) > 1:
            todos += _trap_todos(found[1], where)
    return todos


def _trap_todos(action: str, where: str) -> list[Todo]:
    try:
        trap = parse_script(action)
    except NotShell:
        return []
    found = [(sort_of(words(trap, c)), c) for c in commands(trap.root)]
    return [
        Todo(kind, f"{where} (trap)", shown(trap.code(c)))  # type: ignore[arg-type]
        for kind, c in found
        if kind in ("copy", "teardown")
    ]


def _order(todo: Todo) -> tuple[int, str]:
    number = re.search(r"[0-9]+", todo.where)
    return (int(number.group()) if number else 0, todo.where)


# -- the Job ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """The container's command and arguments (Kubernetes strings), and what came with it."""

    command: tuple[str, ...]
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)  # set for the command alone
    wrappers: tuple[str, ...] = ()  # "sudo", "nohup", "timeout=6h"
    logs: tuple[str, ...] = ()  # files its output went to on the VM
    why_shell: str = ""  # why it runs in a shell, when it does


@dataclass(frozen=True)
class Environment:
    """The container's variables, and those whose values only running the script tells
    (name -> where the script sets it: they are in `variables` with an empty value)."""

    variables: dict[str, EnvVar]
    computed: dict[str, str]
    secrets: tuple[str, ...]
    setup: tuple[str, ...]  # the VM's assignments of computed values: shell set-up


def k8s_text(text: str) -> str:
    """Literal text in a Kubernetes command: `$(` and `$$` would be read as references."""
    return re.sub(r"\$(?=[($])", "$$", text)


def workdir(remote: Remote) -> tuple[str, str]:
    """(the absolute folder the job started in, or "", the folder as written when it is
    not absolute) from the `cd` steps before the job."""
    folder = ""
    for step in remote.before:
        if step.kind != "cd":
            continue
        args = arguments(step.node) if step.node.type == "command" else []
        parts = pieces(remote.script, args[0]) if len(args) == 1 else []
        if not parts or any(p.kind != "text" for p in parts):
            folder = remote.script.code(step.node)[3:].strip() or "~"
            continue
        target = "".join(p.text for p in parts)
        folder = target if target.startswith(("/", "~")) else posixpath.join(folder, target)
    return (folder, "") if folder.startswith("/") else ("", folder)


def environment(analysis: Analysis, secret_name: str) -> Environment:
    """The script's exported variables, the values it could not put into the job's
    command, then what the VM set before the job (the later wins)."""
    variables = analysis.variables
    last = max(remote.site.line for remote in analysis.remotes)
    env: dict[str, EnvVar] = {}
    computed: dict[str, str] = {}
    secrets: list[str] = []
    for name in variables.exported(last):
        value = variables.value(name, last)
        if SECRET.search(name):
            env[name] = EnvVar(name, secret=secret_name)
            secrets.append(name)
        else:
            env[name] = EnvVar(name, value or "")
            if value is None:
                computed[name] = variables.where(name, last)
    for remote in analysis.remotes:
        for name, where in remote.site.unknown.items():
            if where == SECRET_VALUE:
                if name not in secrets:
                    env[name] = EnvVar(name, secret=secret_name)
                    secrets.append(name)
                continue
            computed.setdefault(name, where)
            if NAME.fullmatch(name) and name not in env:
                env[name] = EnvVar(name, "")
    setup: list[str] = []
    for remote in analysis.remotes:
        for step in (step for step in remote.before if step.kind == "assign"):
            values = _assigned(remote.script, step.node, env)
            if values is None:  # only running it tells: it stays shell set-up
                setup.append(remote.script.code(step.node))
            else:
                env.update((name, EnvVar(name, value)) for name, value in values.items())
    return Environment(env, computed, tuple(secrets), tuple(setup))


def _assigned(script: Script, node: Node, env: Mapping[str, EnvVar]) -> dict[str, str] | None:
    """What `A=1`, `export A=$B` (B known) set; None when one value is computed."""
    nodes = [node] if node.type == "variable_assignment" else named_children(node)
    values: dict[str, str] = {}
    for assignment in (n for n in nodes if n.type == "variable_assignment"):
        value = assignment.child_by_field_name("value")
        text = []
        for piece in pieces(script, value) if value is not None else []:
            known = None
            if piece.kind == "var":  # set earlier in the same statement, or before it
                same = values.get(piece.text)
                known = EnvVar(piece.text, same) if same is not None else env.get(piece.text)
            if piece.kind == "shell" or (piece.kind == "var" and (known is None or known.secret)):
                return None
            text.append(known.value if known is not None else piece.text)
        values[script.code(assignment.child_by_field_name("name"))] = "".join(text)
    return values


def exec_command(remote: Remote, known: Mapping[str, EnvVar]) -> Command | str:
    """The job as `command`/`args` (no shell in the container), or why it needs one."""
    if len(remote.job) != 1:
        return "the job is several commands"
    node = remote.job[0].node
    script = remote.script
    logs: list[str] = []
    if node.type == "redirected_statement":
        for redirect in node.children_by_field_name("redirect"):
            operator = next((c for c in redirect.children if not c.is_named), None)
            target = redirect.child_by_field_name("destination")
            if redirect.type != "file_redirect" or operator is None or target is None:
                return f"it reads `{shown(script.code(redirect), 30)}`"
            if operator.type == ">&" and script.code(target) in ("1", "2"):
                continue  # 2>&1
            if operator.type not in REDIRECTS:
                return f"it redirects `{script.code(redirect)}`"
            logs.append(script.code(target))
        node = node.child_by_field_name("body")
    if node is None or node.type != "command":
        return "the job is a shell construct (a pipe, a loop, a condition)"
    nodes, own_env, wrappers = unwrap(script, node)
    for assignment in (c for c in node.children if c.type == "variable_assignment"):
        value = assignment.child_by_field_name("value")
        parts = pieces(script, value) if value is not None else []
        if any(p.kind != "text" for p in parts):
            return f"`{script.code(assignment)}` is computed"
        own_env[script.code(assignment.child_by_field_name("name"))] = "".join(
            p.text for p in parts
        )
    out = []
    for word in nodes:
        text = _k8s_word(
            pieces(script, word), {**known, **{n: EnvVar(n, v) for n, v in own_env.items()}}
        )
        if text is None:
            return f"`{shown(script.code(word), 40)}` needs a shell to expand it"
        out.append(text)
    return Command((out[0],), tuple(out[1:]), own_env, tuple(wrappers), tuple(logs))


def _k8s_word(parts: Sequence[Piece], known: Mapping[str, EnvVar]) -> str | None:
    """One argument in Kubernetes' terms, or None where only a shell reads it the same:
    a tilde, a glob, an unknown variable, or a value the shell would split in two."""
    text = []
    for piece in parts:
        found = known.get(piece.text) if piece.kind == "var" else None
        if piece.kind == "text":
            if not piece.quoted and (piece.text.startswith("~") or GLOB.search(piece.text)):
                return None
            text.append(k8s_text(piece.text))
        elif (
            found is None
            or piece.default is not None
            or (not piece.quoted and re.search(r"\s", found.value))
        ):
            return None
        else:
            text.append(f"$({piece.text})")
    return "".join(text)


def job_command(analysis: Analysis, env: Environment) -> Command:
    """The container's command: the job's own words when no shell is needed, else the
    VM's command text run by `sh -c`."""
    remotes = analysis.remotes
    if len(remotes) == 1 and not env.setup:
        command = exec_command(remotes[0], env.variables)
        if isinstance(command, Command):
            return command
        why = command
    elif env.setup:
        why = "variables the VM set before the job are computed"
    else:
        why = "the job is spread over several commands the script sent to the VM"
    lines = [*(["set -e"] if analysis.errexit and len(remotes) > 1 else []), *env.setup]
    lines += [remote.job_text() for remote in remotes]
    wrappers = [
        wrapper
        for remote in remotes
        for step in remote.job
        for command in commands(step.node)
        for wrapper in unwrap(remote.script, command)[2]
    ]
    text = k8s_text("\n".join(lines))
    return Command((SHELL, "-c"), (text,), wrappers=tuple(wrappers), why_shell=why)


@dataclass(frozen=True)
class Settings:
    image: str
    backoff_limit: int
    ttl_s: int
    deadline_s: int  # 0: the job's `timeout`, else DEFAULT_DEADLINE_S
    k8s_dir: str


def job_spec(
    analysis: Analysis, script_name: str, job: str, settings: Settings
) -> tuple[JobSpec, list[str]]:
    """The Job for the analysed script with its comments, and what its TODOs ask for."""
    env = environment(analysis, f"{job}-secrets")
    command = job_command(analysis, env)
    for name, value in command.env.items():
        env.variables[name] = EnvVar(name, value)
    launch = analysis.launch
    timeout = next(
        (seconds(w.split("=", 1)[1]) for w in command.wrappers if w.startswith("timeout=")), None
    )
    deadline = settings.deadline_s or timeout or DEFAULT_DEADLINE_S
    folder, relative = workdir(analysis.remotes[0])
    found = machine(launch.machine_type) if launch.machine_type else None
    if found is not None and launch.gpus:
        found = Machine(found.cpus, found.memory_gib, found.gpus + launch.gpus)
    job_text = "\n".join(remote.job_text() for remote in analysis.remotes)
    header = _header(analysis, script_name, job, settings, deadline, timeout, found)
    if command.why_shell:
        header.append(f"The command runs in `{SHELL} -c`, as on the VM: {command.why_shell}.")
    if folder:
        header.append(
            "workingDir: where the job ran on the VM; the image must hold the code there."
        )
    todos = _todos(analysis, job, settings, env, command, found, relative)
    labels = [label for label, _ in todos if label]
    header += [
        f"kubectl apply -f {settings.k8s_dir}/{job}-job.yaml",
        f"kubectl wait --for=condition=complete --timeout={deadline}s job/{job}",
        f"kubectl logs job/{job}",
    ]
    return JobSpec(
        name=job,
        container=dns_name(step_name(job_text), "job"),
        image=settings.image,
        command=command.command,
        args=command.args,
        env=tuple(env.variables.values()),
        working_dir=folder,
        machine=found,
        backoff_limit=settings.backoff_limit,
        deadline_s=deadline,
        ttl_s=settings.ttl_s,
        header=tuple(header),
        todos=tuple(text for _, text in todos),
    ), labels


def _header(
    analysis: Analysis,
    script_name: str,
    job: str,
    settings: Settings,
    deadline: int,
    timeout: int | None,
    found: Machine | None,
) -> list[str]:
    launch = analysis.launch
    vm = ", ".join(part for part in (launch.machine_type, launch.vm_image) if part)
    origins = " and ".join(remote.site.origin for remote in analysis.remotes)
    job_text = "; ".join(shown(remote.job_text(), 70) for remote in analysis.remotes)
    retries = f"{settings.backoff_limit} time{'s' if settings.backoff_limit != 1 else ''}"
    stopped = "; the job's `timeout`" if timeout and not settings.deadline_s else ""
    header = [
        f"The batch job of {script_name} as a Kubernetes Job, written by infragap migrate "
        f"({RULE_ID}); {script_name} itself is unchanged.",
        f"Before: {launch.cloud.what} at line {launch.line} started a VM"
        f"{f' ({vm})' if vm else ''}, and {origins} ran `{job_text}` on it.",
        f"Now: the same command in the image {settings.image}; a failed pod is retried up "
        f"to {retries} (backoffLimit; one lost to a node drain or preemption is retried "
        f"without counting, podFailurePolicy), the Job is stopped after {deadline} s "
        f"(activeDeadlineSeconds{stopped}) and deleted {settings.ttl_s} s after it ends "
        "(ttlSecondsAfterFinished).",
    ]
    if found is not None:
        gpus = f", {found.gpus} GPU" if found.gpus else ""
        header.append(
            f"Resources: what the {launch.machine_type} VM had ({found.cpus} vCPU, "
            f"{found.memory_gib} GiB{gpus}). A node of that type has a little less to "
            "allocate: lower the requests to fit one, or use a larger type (a nodeSelector "
            f"on node.kubernetes.io/instance-type: {launch.machine_type} pins the type)."
        )
    return header


# Todo kinds: (label in the apply summary, "" when there is nothing to do; the TODO).
GROUPS: dict[str, tuple[str, str]] = {
    "setup": (
        "the VM's set-up",
        "the VM was set up before the job ran; the image ({image}) must hold this already:",
    ),
    "copy": (
        "copies",
        "the script copied files to or from the VM, whose disk goes with it. Put the inputs "
        "in the image or a volume (a PersistentVolumeClaim), and have the job write its "
        "outputs to object storage or a volume itself:",
    ),
    "after": ("steps after the job", "the VM ran more after the job, which this Job does not:"),
    "wait": (
        "",
        "the script waited for the VM or the job (nothing to do: the pod starts once "
        "scheduled; kubectl wait --for=condition=complete job/{job} waits for the end):",
    ),
    "teardown": (
        "",
        "the script tore the VM down (nothing to do: the pod ends with its command, and the "
        "finished Job is deleted after ttlSecondsAfterFinished, {ttl} s):",
    ),
}


def _todos(
    analysis: Analysis,
    job: str,
    settings: Settings,
    env: Environment,
    command: Command,
    found: Machine | None,
    relative: str,
) -> list[tuple[str, str]]:
    """(a short label for the apply summary, "" when nothing is to be done; the TODO)."""
    launch = analysis.launch
    todos = []
    if found is None:
        why = (
            f"the VM's type {launch.machine_written} is not one this rule knows, or only "
            "running the script tells it"
            if launch.machine_written
            else f"the script left the VM's type to {launch.cloud.what.split()[0]}'s default"
        )
        todos.append(
            ("resources", f"set resources (requests and limits: cpu, memory, {GPU}): {why}.")
        )
    for kind, (label, intro) in GROUPS.items():
        found_todos = [todo for todo in analysis.todos if todo.kind == kind]
        if found_todos:
            items = "".join(f"\n- {todo.where}: {todo.code}" for todo in found_todos)
            text = intro.format(image=settings.image, job=job, ttl=settings.ttl_s)
            wheres = _places([todo.where.split(",")[0] for todo in found_todos])
            todos.append((f"{label} ({wheres})" if label else "", text + items))
    if relative:
        todos.append(
            (
                "workingDir",
                f"the job ran in {relative} on the VM (from the folder its commands started "
                "in, the login user's home over ssh): set workingDir to where the image holds "
                "the code, or keep the image's WORKDIR.",
            )
        )
    if env.computed:
        names = [_value_name(name) for name in env.computed]
        listed = "".join(
            f"\n- {name} ({where})"
            for name, where in zip(names, env.computed.values(), strict=True)
        )
        todos.append(
            (
                f"values the script computes ({', '.join(names)})",
                "the script computes these values as it runs, which a manifest cannot: give "
                f"each its value in env (empty here), or change the command:{listed}",
            )
        )
    if env.secrets:
        one = len(env.secrets) == 1
        literals = " ".join(f"--from-literal={name}=..." for name in env.secrets)
        todos.append(
            (
                f"the Secret {job}-secrets",
                f"create the Secret {job}-secrets: {', '.join(env.secrets)} "
                f"{'looks like a credential' if one else 'look like credentials'}, so no value "
                f"is copied here. kubectl create secret generic {job}-secrets {literals}",
            )
        )
    if command.logs:
        todos.append(
            (
                f"the log file {', '.join(command.logs)}",
                f"the job's output went to {', '.join(command.logs)} on the VM; the pod's log "
                f"keeps it now: kubectl logs job/{job}.",
            )
        )
    if "sudo" in command.wrappers:
        todos.append(
            (
                "sudo",
                "the job ran with sudo on the VM; the container runs as the image's user "
                "(securityContext.runAsUser sets another).",
            )
        )
    return todos


def _places(wheres: Sequence[str]) -> str:
    """["line 12", "line 13"] -> "lines 12, 13"; file places as they are."""
    unique = list(dict.fromkeys(wheres))
    numbers = [where.removeprefix("line ") for where in unique]
    if len(unique) > 1 and all(where.startswith("line ") for where in unique):
        return "lines " + ", ".join(numbers)
    return ", ".join(unique)


def _value_name(name: str) -> str:
    return f"${name}" if NAME.fullmatch(name) else f"`{shown(name, 40)}`"

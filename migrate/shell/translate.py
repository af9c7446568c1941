"""Translate a pipeline script into a `DagSpec`: a task per step, in script order.

The walk keeps what running the script would keep: shell options (`set -e` decides
whether a step waits for the one before to succeed), the working folder (`cd`), the
variables (Python expressions where they mean the same, shell set-up where they do
not), functions and sourced files (shell set-up, run again before every task).

A construct whose parts must run in one shell (a pipe, background jobs, a condition,
a loop over values known only at run time, `eval`, a here-document) becomes one task
with a comment saying why. Where splitting would change what the script does (a
`trap`, `exit` before the end, `cd` into a folder computed at run time, a variable set
inside such a construct and read later), the whole script becomes one task instead.
Nothing is dropped without a word: echo lines ride with the next step, commented-out
steps stay as comments, and every note also reaches the apply summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from infragap.migrate.generators.airflow_dag import (
    TODO,
    DagSpec,
    Remark,
    Setup,
    Task,
    Variable,
)
from infragap.migrate.results import Note
from infragap.migrate.shell.nodes import (
    assigned_names,
    assigns_only,
    backgrounded,
    commands_in,
    literal_items,
    read_elsewhere,
    runs_only,
    statements_after,
    wait_index,
)
from infragap.migrate.shell.steps import step_name
from infragap.migrate.shell.syntax import Node, Script, named_children
from infragap.migrate.shell.words import (
    POSITIONAL,
    SCRIPT_DIR,
    Names,
    reads_arguments,
    to_python,
    variables_read,
)

DATE_NAME = re.compile(r"(?i)date|day|^ds$|^dt$")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MESSAGES = frozenset({"echo", "printf", ":", "true", "wait"})
WHOLE_SCRIPT = {
    "trap": "`trap` acts when the whole script exits",
    "shift": "`shift` changes the script's arguments",
    "getopts": "`getopts` reads the script's arguments",
    "read": "`read` reads the script's input",
    "exec": "`exec` replaces the shell",
    "pushd": "`pushd` keeps a stack of folders",
    "popd": "`popd` keeps a stack of folders",
}
ONE_TASK = {
    "pipeline": "a pipe streams one command's output into the next",
    "while_statement": "a `while` loop decides at run time how often its body runs",
    "until_statement": "an `until` loop decides at run time how often its body runs",
    "c_style_for_statement": "a counting loop runs its body a computed number of times",
    "subshell": "a subshell `( ... )` keeps state of its own",
    "compound_statement": "a `{ ... }` group runs as one",
    "negated_command": "`!` inverts the command's exit status",
    "test_command": "a test decides whether the script goes on",
}
HERE_DOC = "a here-document or here-string feeds the command"
STATEFUL = frozenset({"cd", "set", "source", ".", "export", "unset", *WHOLE_SCRIPT})
DECLARATIONS = frozenset({"declare", "typeset", "local", "readonly"})
LOGICAL_DATE = "{{ ds }}"
# Set by the shell or the login itself, so never "read and set by nobody".
SHELL_SET = frozenset(
    {"HOME", "PATH", "USER", "LOGNAME", "PWD", "OLDPWD", "SHELL", "HOSTNAME", "RANDOM"}
    | {"LINENO", "SECONDS", "BASH_SOURCE", "BASH_VERSION", "IFS", "UID", "EUID", "PPID"}
    | {"TMPDIR", "LANG", "LC_ALL", "TERM", "FUNCNAME", "PIPESTATUS", "BASHPID", "SHLVL"}
    | {"?", "$", "!", "-", "_"}
)
RUN_SCRIPT = "INFRAGAP_SCRIPT"


class WholeScript(Exception):
    """Splitting the script into tasks would change what it does; `line` says where."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line = line
        self.why = why


@dataclass(frozen=True)
class Translation:
    spec: DagSpec
    notes: tuple[Note, ...]
    # Variables the tasks expand that the script never sets: (name, first line).
    read_unset: tuple[tuple[str, int], ...] = ()


@dataclass
class _SetupEntry:
    line: int
    text: str
    defines: frozenset[str] = frozenset()
    consumed: bool = False  # replaced by the logical date: never emitted


@dataclass
class _State:
    errexit: bool = False
    cwd: str = SCRIPT_DIR
    python: set[str] = field(default_factory=set)  # variables in the DAG's ENV
    shell: set[str] = field(default_factory=set)  # variables only the shell knows
    read_by_tasks: set[str] = field(default_factory=set)
    set_inside_tasks: dict[str, int] = field(default_factory=dict)  # variable -> line
    iteration: tuple[tuple[str, str], ...] = ()  # inside a literal loop: (variable, item)
    suffix: str = ""  # task id suffix inside a literal loop
    joined: bool = False  # the statement at hand follows `&&`

    def names(self) -> Names:
        return Names(self.python, self.shell)

    def make_shell(self, names: Collection[str]) -> None:
        self.shell |= set(names)
        self.python -= set(names)


def translate(
    script: Script, name: str, dag_id: str, retries: int, delay_s: int, start: str = SCRIPT_DIR
) -> Translation:
    """The DAG spec for one script; splits it into steps unless that would be unfaithful.

    `start` is the folder the script starts in, a Python expression (a `cd` moves on
    from there)."""
    walker = _Walker(script, name)
    walker.state.cwd = start
    try:
        walker.block(script.root.children)
        walker.finish_block()
    except WholeScript as whole:
        return _whole_script(script, name, dag_id, retries, delay_s, whole)
    spec = DagSpec(
        dag_id=dag_id,
        script=name,
        description=_header(script) or f"The steps of {name}",
        variables=tuple(walker.variables),
        setups=tuple(walker.setups),
        items=tuple(walker.items),
        variables_comment=(
            f"The variables of {name}, with the script's defaults: the environment still "
            "overrides them, as it did for the script."
        ),
        retries=retries,
        retry_delay_s=delay_s,
        notes=tuple(walker.docs),
    )
    return Translation(spec, tuple(walker.notes), tuple(walker.read_unset.items()))


def _whole_script(
    script: Script, name: str, dag_id: str, retries: int, delay_s: int, whole: WholeScript
) -> Translation:
    why = f"{whole.why} (line {whole.line}), so the script runs as one task, unchanged"
    comments = [f"{why}."]
    if reads_arguments(script, script.root):
        comments.append(
            f'{TODO}: {name} reads its arguments ($1, "$@", ...): add them to the '
            f"command (a run's date is {LOGICAL_DATE}, through ENV)."
        )
    spec = DagSpec(
        dag_id=dag_id,
        script=name,
        description=_header(script) or f"{name}, as one task",
        variables=(Variable(RUN_SCRIPT, f'os.path.join({SCRIPT_DIR}, "{name}")', 0),),
        setups=(Setup("SETUP", ""),),
        items=(Task(_task_id(dag_id), f'bash "${RUN_SCRIPT}"', 1, tuple(comments)),),
        variables_comment=f"Where {name} is.",
        retries=retries,
        retry_delay_s=delay_s,
        notes=(f"{name} is not split into steps: {why}.",),
        split=False,
    )
    return Translation(spec, (Note(whole.line, f"one task for the whole script: {why}"),))


def _header(script: Script) -> str:
    """The first line of the script's opening comment, as the DAG's description."""
    for child in script.root.children:
        if child.type != "comment":
            return ""
        text = script.code(child)
        if not text.startswith("#!") and text.lstrip("#").strip():
            return text.lstrip("#").strip()
    return ""


def _task_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "step"


class _Walker:
    def __init__(self, script: Script, name: str) -> None:
        self.script = script
        self.name = name
        self.state = _State()
        self.variables: list[Variable] = []
        self.setup_entries: list[_SetupEntry] = []
        self.emitted = 0  # setup entries already inside a Setup constant
        self.setups: list[Setup] = []
        self.items: list[Task | Remark] = []
        self.notes: list[Note] = []
        self.docs: list[str] = []
        self.messages: list[str] = []  # echo lines waiting for the next task
        self.comments: list[str] = []  # the script's comment lines just above
        self.comment_end = 0
        self.last_task_line = 0  # where the newest task's statement ends
        self.ids: set[str] = set()
        self.date_loop = False
        self.read_unset: dict[str, int] = {}  # read by a task, never set by the script

    # -- blocks --------------------------------------------------------------------

    def block(self, children: Sequence[Node]) -> None:
        statements = [child for child in children if child.is_named]
        index = 0
        while index < len(statements):
            node = statements[index]
            if backgrounded(node):
                end = wait_index(self.script, statements, index)
                why = "background jobs (`&`) run side by side until `wait`"
                self.one_task(statements[index : end + 1], why)
                index = end + 1
                continue
            self.statement(node, last=not statements_after(node))
            index += 1

    def finish_block(self) -> None:
        """Echo lines left at the end of a block go with the block's last task."""
        if not self.messages:
            return
        for position in range(len(self.items) - 1, -1, -1):
            item = self.items[position]
            if isinstance(item, Task):
                joiner = "\n" if self.state.errexit else " && "
                command = joiner.join([item.command, *self.messages])
                self.items[position] = replace(item, command=command)
                self.messages = []
                return
        raise WholeScript(1, "the script runs no step its messages could go with")

    # -- statements ----------------------------------------------------------------

    def statement(self, node: Node, last: bool = False) -> None:
        if node.type == "comment":
            self.comment(node)
            return
        if self.script.line(node) > self.comment_end + 1:
            self.comments = []  # a blank line between: they were not about this statement
        if node.type == "command":
            self.command(node, last=last)
            return
        handler = {
            "variable_assignment": self.assignment,
            "variable_assignments": self.assignments,
            "declaration_command": self.declaration,
            "unset_command": self.unset,
            "function_definition": self.function,
            "list": self.and_list,
            "redirected_statement": self.redirected,
            "for_statement": self.for_loop,
            "if_statement": self.conditional,
            "case_statement": self.conditional,
        }.get(node.type)
        if handler is not None:
            handler(node)
        else:
            self.one_task([node], ONE_TASK.get(node.type, f"a {node.type} is not split"))

    def comment(self, node: Node) -> None:
        text = self.script.code(node)
        line = self.script.line(node)
        body = text.lstrip("#").strip()
        if text.startswith("#!"):
            if re.search(r"\s-\w*e", text):
                self.state.errexit = True
                self.setup(line, "set -e")
        elif line == self.last_task_line and self.items and isinstance(self.items[-1], Task):
            task = self.items[-1]  # a comment at the end of the step's own line
            self.items[-1] = replace(task, comments=(*task.comments, body))
        elif step_name(body):
            self.items.append(Remark(f"Commented out in {self.name}:{line}, not a task: {body}"))
            self.notes.append(Note(line, f"commented-out step kept as a comment: {body}"))
        else:
            if line > self.comment_end + 1:
                self.comments = []
            self.comments.append(body)
            self.comment_end = line

    def command(self, node: Node, last: bool = False, text_node: Node | None = None) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            self.assignments(node)
            return
        self._split_leading_assignments(node, name_node)
        name = self.script.code(name_node).strip("\"'")
        line = self.script.line(node)
        args = [c for c in named_children(node) if c.type not in ("command_name", "comment")]
        if any(c.type in ("heredoc_redirect", "herestring_redirect") for c in args):
            self.one_task([text_node or node], HERE_DOC)
        elif name in WHOLE_SCRIPT:
            raise WholeScript(line, WHOLE_SCRIPT[name])
        elif name == "exit":
            self._exit(node, line, last)
        elif name == "set":
            self._set(args, line)
            self.setup(line, self.script.code(node))
        elif name == "cd":
            self._cd(args, line)
        elif name in ("source", "."):
            self.setup(line, self.script.code(node))
        elif name == "eval":
            self.one_task([node], "`eval` builds its command at run time")
        elif name in MESSAGES and text_node is None and not self.state.joined:
            self.messages.append(self.script.code(node))
        else:
            base = step_name(self.script.code(node)) or name.rsplit("/", 1)[-1]
            self.task([text_node or node], base)

    def _split_leading_assignments(self, node: Node, name_node: Node) -> None:
        """tree-sitter reads `A=1 B=2`, a newline, then `X=1 cmd` as one command."""
        for child in named_children(node):
            before = self.script.end_line(child) < self.script.line(name_node)
            if child.type == "variable_assignment" and before:
                self.assignment(child)

    def assignments(self, node: Node) -> None:
        for child in named_children(node):
            if child.type == "variable_assignment":
                self.assignment(child)

    def assignment(self, node: Node, exported: bool = False) -> None:
        name = self.script.code(node.child_by_field_name("name"))
        value = node.child_by_field_name("value")
        line = self.script.line(node)
        expr = to_python(self.script, value, self.state.names()).expr if value else '""'
        if expr is None or name in self.state.read_by_tasks:
            # Stays shell: it runs something, or a task before read the value it had then.
            text = self.script.code(node)
            self.setup(line, f"export {text}" if exported else text, {name})
            self.state.make_shell({name})
            return
        if self.state.iteration:
            raise WholeScript(line, "a loop body sets a variable")
        self.variables.append(Variable(name, expr, line))
        self.state.python.add(name)
        self.state.shell.discard(name)

    def declaration(self, node: Node) -> None:
        keyword = self.script.code(node.children[0])
        line = self.script.line(node)
        parts = named_children(node)
        simple = all(p.type in ("variable_assignment", "variable_name") for p in parts)
        if keyword in DECLARATIONS or not simple:
            defined = {self.script.code(p) for p in parts if p.type == "variable_name"}
            defined |= assigned_names(self.script, node)
            self.setup(line, self.script.code(node), defined)
            self.state.make_shell(defined)
            return
        for part in parts:  # export NAME=value ..., export NAME
            if part.type == "variable_assignment":
                self.assignment(part, exported=True)
            elif self.script.code(part) in self.state.shell:
                self.setup(line, f"export {self.script.code(part)}")

    def unset(self, node: Node) -> None:
        names = {self.script.code(c) for c in named_children(node)}
        self.setup(self.script.line(node), self.script.code(node), names)
        self.state.make_shell(names)

    def function(self, node: Node) -> None:
        self.setup(self.script.line(node), self.script.code(node))

    def and_list(self, node: Node) -> None:
        operators = {self.script.code(c) for c in node.children if not c.is_named}
        elements = named_children(node)
        if "||" in operators:
            self.one_task([node], "`a || b` runs b only when a fails")
        elif any(e.type == "test_command" for e in elements):
            self.one_task([node], "a test decides what runs")
        else:
            for position, element in enumerate(elements):
                self.state.joined = position > 0
                try:
                    self.statement(element)
                finally:
                    self.state.joined = False

    def redirected(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        redirects = [c for c in named_children(node) if c is not body]
        if any(r.type in ("heredoc_redirect", "herestring_redirect") for r in redirects):
            self.one_task([node], HERE_DOC)
        elif body is not None and body.type == "command":
            self.command(body, text_node=node)
        else:
            kind = body.type if body is not None else ""
            self.one_task([node], ONE_TASK.get(kind, "its output is redirected as a whole"))

    def conditional(self, node: Node) -> None:
        condition = node.child_by_field_name("condition")
        if assigns_only(node) and (condition is None or condition.type == "test_command"):
            defined = assigned_names(self.script, node)
            self.setup(self.script.line(node), self.script.code(node), defined)
            self.state.make_shell(defined)
        else:
            self.one_task([node], "a condition decides at run time what runs")

    def for_loop(self, node: Node) -> None:
        variable = self.script.code(node.child_by_field_name("variable"))
        values = [
            node.children[i]
            for i in range(node.child_count)
            if node.field_name_for_child(i) == "value"
        ]
        body = node.child_by_field_name("body")
        items = literal_items(self.script, values)
        dates = bool(DATE_NAME.search(variable)) or bool(
            items and all(ISO_DATE.fullmatch(item) for item in items)
        )
        if dates and not self.date_loop and not self.state.iteration and body is not None:
            self._date_loop(node, variable, values, body)
        elif items and body is not None and runs_only(body, STATEFUL) and not self.state.iteration:
            for item in items:
                self.state.iteration = ((variable, json.dumps(item)),)
                self.state.suffix = f"_{_task_id(item)}"
                try:
                    self.block(body.children)
                    self.finish_block()
                finally:
                    self.state.iteration, self.state.suffix = (), ""
        elif items:
            self.one_task([node], "its body changes the shell's state")
        else:
            self.one_task([node], "it loops over values known only at run time")

    def _date_loop(self, node: Node, variable: str, values: list[Node], body: Node) -> None:
        self.date_loop = True
        line = self.script.line(node)
        header = self.script.code(node).split("\n", 1)[0].split("; do", 1)[0].strip()
        chosen = self._consume_date_choice(values, node)
        chooser = f" ({chosen} chose them)" if chosen else ""
        self.variables.append(
            Variable(
                variable,
                json.dumps(LOGICAL_DATE),
                line,
                f"`{header}` looped over dates{chooser}. Each DAG run is one date now: "
                f"{variable} is the run's logical date.",
            )
        )
        self.state.python.add(variable)
        self.state.shell.discard(variable)
        self.docs.append(
            f"{self.name} looped over dates (line {line}); each DAG run is one logical date "
            f"here, given to the steps as ${variable}. Run a range with `airflow dags "
            "backfill` once a schedule is set."
        )
        self.notes.append(Note(line, f"the loop over dates is one DAG run per date (${variable})"))
        self.block(body.children)

    def _consume_date_choice(self, values: list[Node], loop: Node) -> str:
        """Drop the set-up that only chose the loop's dates (arguments, or yesterday)."""
        lines = set()
        for value in values:
            for name in variables_read(self.script, value):
                for entry in self.setup_entries[self.emitted :]:
                    if name in entry.defines and not read_elsewhere(self.script, name, loop):
                        entry.consumed = True
                        lines.add(entry.line)
        return ", ".join(f"line {line}" for line in sorted(lines))

    # -- state -------------------------------------------------------------------------

    def _exit(self, node: Node, line: int, last: bool) -> None:
        code = [self.script.code(c) for c in named_children(node)[1:]]
        if not last or code not in ([], ["0"]):
            raise WholeScript(line, "`exit` stops the script before its end")
        self.notes.append(Note(line, "the final `exit` is left out: a DAG run ends by itself"))

    def _set(self, args: list[Node], line: int) -> None:
        words = [self.script.code(a) for a in args]
        for index, word in enumerate(words):
            following = words[index + 1] if index + 1 < len(words) else ""
            if re.fullmatch(r"[-+][a-zA-Z]+", word) and "e" in word:
                self.state.errexit = word.startswith("-")
            elif word in ("-o", "+o") and following == "errexit":
                self.state.errexit = word == "-o"

    def _cd(self, args: list[Node], line: int) -> None:
        if len(args) != 1:
            raise WholeScript(line, "`cd` without exactly one folder")
        value = to_python(self.script, args[0], self.state.names())
        if value.expr is None:
            raise WholeScript(line, f"`cd` into a folder known only at run time ({value.why})")
        if value.expr == SCRIPT_DIR or value.expr.startswith('"/'):
            self.state.cwd = value.expr
        else:
            self.state.cwd = f"os.path.join({self.state.cwd}, {value.expr})"

    def setup(self, line: int, text: str, defines: Collection[str] = ()) -> None:
        if self.state.iteration:
            raise WholeScript(line, "a loop body changes the shell's state")
        self.setup_entries.append(_SetupEntry(line, text, frozenset(defines)))

    def setup_defines(self) -> set[str]:
        return {name for entry in self.setup_entries for name in entry.defines}

    def _setup_name(self) -> str:
        """The Setup constant for the shell state now, made when it is new."""
        new = [e for e in self.setup_entries[self.emitted :] if not e.consumed]
        self.emitted = len(self.setup_entries)
        if not self.setups or new:
            name = f"SETUP_{len(self.setups) + 1}" if self.setups else "SETUP"
            base = self.setups[-1].name if self.setups else ""
            self.setups.append(Setup(name, "".join(f"{e.text}\n" for e in new), base))
        return self.setups[-1].name

    # -- tasks -------------------------------------------------------------------------

    def task(self, nodes: list[Node], base: str, why: str = "") -> None:
        """One task running `nodes` (consecutive statements) with the shell state now."""
        first, last = nodes[0], nodes[-1]
        line = self.script.line(first)
        text = self.script.data[first.start_byte : last.end_byte].decode("utf-8")
        read = set().union(*(variables_read(self.script, node) for node in nodes))
        for name in read & set(self.state.set_inside_tasks):
            raise WholeScript(
                self.state.set_inside_tasks[name],
                f"${name} is set inside a construct kept as one task and read at line "
                f"{line}: tasks do not share shell variables",
            )
        comments = [*self.comments, *([f"One task: {why}."] if why else [])]
        if any(reads_arguments(self.script, node) for node in nodes):
            comments.append(
                f'{TODO}: this reads the script\'s arguments ($1, "$@", ...), which a DAG '
                "run has not: set them in ENV."
            )
            self.notes.append(Note(line, "a step reads the script's arguments; set them in ENV"))
        if re.search(r"\$\(date\b|`date\b", text):
            comments.append(
                f"$(date ...) is the day the task runs; a backfill wants the run's date, "
                f"{LOGICAL_DATE} (through ENV)."
            )
        known = {*self.state.python, *self.state.shell, *(n for n, _ in self.state.iteration)}
        for name in sorted(read - known - SHELL_SET):
            if not POSITIONAL.fullmatch(name) and name not in self.setup_defines():
                self.read_unset.setdefault(name, line)
        previous = any(isinstance(item, Task) for item in self.items)
        self.items.append(
            Task(
                task_id=self._unique(_task_id(base) + self.state.suffix),
                command="\n".join([*self.messages, text]),
                line=line,
                comments=tuple(comments),
                env=self.state.iteration,
                cwd=self.state.cwd,
                setup=self._setup_name(),
                all_done=previous and not self.state.errexit and not self.state.joined,
            )
        )
        self.messages, self.comments = [], []
        self.last_task_line = self.script.end_line(last)
        self.state.read_by_tasks |= read

    def one_task(self, nodes: list[Node], why: str) -> None:
        """Commands that must run in one shell: one task, with a comment saying why."""
        steps = [step_name(self.script.code(n)) for n in commands_in(nodes)]
        base = "_".join(dict.fromkeys(s for s in steps if s)) or self._first_name(nodes)
        self.task(nodes, base or nodes[0].type, why)
        for node in nodes:
            for name in assigned_names(self.script, node):
                self.state.set_inside_tasks.setdefault(name, self.script.line(node))
        self.notes.append(Note(self.script.line(nodes[0]), f"kept as one task: {why}"))

    def _first_name(self, nodes: list[Node]) -> str:
        for command in commands_in(nodes):
            name = command.child_by_field_name("name")
            if name is not None:
                return self.script.code(name).strip("\"'").rsplit("/", 1)[-1]
        return ""

    def _unique(self, task_id: str) -> str:
        candidate, index = task_id, 2
        while candidate in self.ids:
            candidate, index = f"{task_id}_{index}", index + 1
        self.ids.add(candidate)
        return candidate

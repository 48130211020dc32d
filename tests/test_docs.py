"""Documentation that cannot rot: every command, params key, stage, make target, file and link that README.md and
docs/*.md show must exist.

What a page shows is read from its code: fenced blocks and inline `code` spans. A command naming a `python -m
ecaser` subcommand or flag the CLI's parser lacks, a `-S key=value` or `key.subkey` params key params.yaml lacks, a
`dvc repro` / `dvc exp run` target or a `train_*` / `stage@item` name no stage of dvc.yaml has (its foreach and
matrix items resolved by DVC under params.yaml and every configs/*.yaml), a `make` target the Makefile lacks, or a
relative path or link that is neither in Git nor a DVC output, is reported with its page and line.
"""

import argparse
import functools
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from ecaser.commands import cli
from ecaser.data.corpora import NAMES
from ecaser.models.registry import ATTENTION
from ecaser.training import plan

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*```")
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
PARAM = re.compile(r"^([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)(?:\s*[:=].*)?$")
FILE_SUFFIX = re.compile(r"\.(py|ya?ml|md|json|csv|png|npy|pt|tsv|txt|wav|lock|conf|toml|html)$")
PLACEHOLDER = re.compile(r"[<>*{}$…]|\.\.\.|^[A-Z][A-Z_]*$")  # <family>, results/*, STAGE: not literal names
DVC_VALUE_OPTIONS = {"-n", "--name", "-S", "--set-param", "-j", "--jobs", "-m", "--message", "-r", "--remote"}
SHELL_SPLIT = re.compile(r"&&|\|\||;|\||\$\(|\)")


@functools.cache
def ecaser_options():
    """{subcommand: its option strings}, from the parser `python -m ecaser` uses."""
    commands = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: set(sub._option_string_actions) for name, sub in commands.choices.items()}


@functools.cache
def params():
    return yaml.safe_load((REPO / "params.yaml").read_text())


@functools.cache
def pipeline():
    """(stage names and their foreach / matrix groups, output paths), under params.yaml and each paper config."""
    names, outs = set(), set()
    for params_file in [REPO / "params.yaml", *sorted((REPO / "configs").glob("*.yaml"))]:
        for name, _, paths in plan.resolved(REPO / "dvc.yaml", params_file):
            names |= {name, name.split("@")[0]}
            outs.update(paths)
    return names, outs


@functools.cache
def repository_files():
    """Files in Git, and those Git would add (not ignored): what a clone of the committed tree holds."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return {f for f in listed if (REPO / f).exists()}


@functools.cache
def make_targets():
    text = (REPO / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M)}


def in_repository(path):
    """A repository-relative path that Git holds or a stage writes (a file, or a folder above some)."""
    path = path.strip("/")
    known = repository_files() | pipeline()[1]
    return any(k == path or k.startswith(path + "/") or path.startswith(k + "/") for k in known)


def top_level():
    return {p.split("/")[0] for p in repository_files() | pipeline()[1]}


def code(text):
    """(line number, snippet, in a fenced block) for every code line and inline code span of a page."""
    fenced, held = False, None  # held: the start of a fenced command continued with a trailing backslash
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            if held:
                line = held[1] + " " + line.strip()
                number = held[0]
            if line.endswith("\\"):
                held = (number, line[:-1].rstrip())
                continue
            held = None
            yield number, line, True
        else:
            yield from ((number, span, False) for span in INLINE.findall(line))


def words(command):
    """The shell words of one command (quotes resolved; an unbalanced quote splits on spaces)."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def commands(snippet):
    """The simple commands of a snippet: its comment dropped, split at &&, ||, ;, | and $( )."""
    snippet = re.sub(r"(^|\s)#.*", "", snippet).strip().removeprefix("$ ")
    return [words(part) for part in SHELL_SPLIT.split(snippet) if part.strip()]


def check_ecaser(argv):
    if argv[:3] == ["python", "-m", "ecaser"]:
        rest = argv[3:]
    elif argv[:1] == ["ecaser"]:
        rest = argv[1:]
    else:
        return []
    if not rest or rest[0].startswith("-"):
        return []
    options = ecaser_options()
    if rest[0] not in options:
        return [f"`python -m ecaser {rest[0]}`: no such subcommand (there are {', '.join(sorted(options))})"]
    flags = {w.split("=")[0] for w in rest[1:] if w.startswith("-") and not re.match(r"^-\d", w)}
    return [f"`python -m ecaser {rest[0]} {flag}`: no such option" for flag in sorted(flags - options[rest[0]])]


def check_dvc(argv):
    if argv[:2] == ["dvc", "repro"]:
        rest = argv[2:]
    elif argv[:3] == ["dvc", "exp", "run"]:
        rest = argv[3:]
    else:
        return []
    problems, targets, i = [], [], 0
    while i < len(rest):
        word = rest[i]
        if word in ("-S", "--set-param") and i + 1 < len(rest):
            problems += check_param(rest[i + 1].split("=")[0])
        if word in DVC_VALUE_OPTIONS:
            i += 2
            continue
        if not word.startswith("-"):
            targets.append(word)
        i += 1
    return problems + [p for t in targets for p in check_stage(t)]


def check_param(key):
    if PLACEHOLDER.search(key):
        return []
    node = params()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return [f"`{key}`: params.yaml has no such key"]
        node = node[part]
    return []


def check_stage(name):
    if PLACEHOLDER.search(name) or name in pipeline()[0]:
        return []
    return [f"`{name}`: dvc.yaml has no such stage"]


def check_make(argv):
    if argv[:1] != ["make"]:
        return []
    targets = [w for w in argv[1:] if not w.startswith("-") and "=" not in w]
    return [f"`make {t}`: the Makefile has no such target" for t in targets if t not in make_targets()]


def check_path(word):
    """A word that names a repository path (its first part a top-level entry) must be one."""
    word = word.strip("'\",:;()")
    if "/" not in word or word.startswith(("/", "~", "http")) or PLACEHOLDER.search(word) or "=" in word:
        return []
    if word.split("/")[0] not in top_level() or in_repository(word):
        return []
    return [f"`{word}`: not in the repository (neither in Git nor written by a stage)"]


def check_span(span):
    """An inline code span: a command, or a params key, a stage name or a path on its own."""
    problems = []
    for argv in commands(span):
        problems += check_ecaser(argv) + check_dvc(argv) + check_make(argv)
    span = span.strip()
    key = PARAM.match(span)
    if key and key.group(1).split(".")[0] in params() and not FILE_SUFFIX.search(key.group(1)):
        problems += check_param(key.group(1))
    if re.fullmatch(r"train_\w+(@[\w.-]+)?|[a-z_]+@[\w.-]+", span):
        problems += check_stage(span)
    return problems + [p for w in span.split() for p in check_path(w)]


def check_link(page, target):
    target = target.split("#")[0]
    if not target or re.match(r"^[a-z]+:", target):  # an anchor on the same page, or a URL
        return []
    path = (REPO / page).parent / target
    try:
        relative = path.resolve().relative_to(REPO)
    except ValueError:
        return [f"link {target}: outside the repository"]
    return [] if in_repository(str(relative)) else [f"link {target}: not in the repository"]


def problems(page, text):
    """Every stale reference of a page (its repository-relative name and its text), as 'page:line: problem'."""
    found = []
    for number, snippet, fenced in code(text):
        if fenced:
            issues = [p for argv in commands(snippet) for p in check_ecaser(argv) + check_dvc(argv) + check_make(argv)]
            issues += [p for w in words(re.sub(r"(^|\s)#.*", "", snippet)) for p in check_path(w)]
        else:
            issues = check_span(snippet)
        found += [f"{page}:{number}: {issue}" for issue in issues]
    for number, line in enumerate(text.splitlines(), start=1):
        found += [f"{page}:{number}: {issue}" for target in LINK.findall(line) for issue in check_link(page, target)]
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_command_key_stage_target_file_and_link_exists(page):
    assert problems(page, (REPO / page).read_text()) == []


STALE = {  # one planted reference of each kind, as a page would show it
    "subcommand": ("```bash\npython -m ecaser evaluate results/eca/proposed\n```", "no such subcommand"),
    "flag": ("```bash\npython -m ecaser predict call.wav --window 2\n```", "predict --window`: no such option"),
    "set param": ("```bash\ndvc exp run -S eca.kernal=9\n```", "`eca.kernal`: params.yaml has no such key"),
    "param in text": ("Set `train.epoch: 100` for the paper.", "`train.epoch`: params.yaml has no such key"),
    "repro target": ("```bash\ndvc repro train_ecaa\n```", "`train_ecaa`: dvc.yaml has no such stage"),
    "stage in text": ("The cell `train_eca_kernels@v9-7` is Fig. 8's.", "`train_eca_kernels@v9-7`: dvc.yaml has"),
    "make target": ("Run `make reproduce` first.", "`make reproduce`: the Makefile has no such target"),
    "file": ("```bash\npython benchmarks/speed.py\n```", "`benchmarks/speed.py`: not in the repository"),
    "link": ("See [the old page](docs/old-guide.md).", "link docs/old-guide.md: not in the repository"),
}


@pytest.mark.parametrize("kind", STALE)
def test_a_planted_stale_reference_is_caught(kind, tmp_path):
    """The real README with one stale reference appended, in a temporary copy: exactly that one is reported."""
    planted, message = STALE[kind]
    copy = tmp_path / "README.md"
    copy.write_text((REPO / "README.md").read_text() + "\n" + planted + "\n")
    found = problems("README.md", copy.read_text())
    assert len(found) == 1 and message in found[0], found


def test_what_exists_is_not_reported():
    """The same kinds of reference, each real: none is reported (the check does not cry wolf)."""
    text = "\n".join(["```bash", "python -m ecaser predict call.wav --timeline --hop 0.5",
                      "dvc exp run -n emodb-k7 -S data.corpus=emodb -S 'attention.types=[se,cbam]' train_eca",
                      "dvc repro train_cnn_sweep train_eca_kernels@v8-7 stft@v1  # a group, a paper-scale cell",
                      "make grid JOBS=4", "python docs/predict_timeline.py --model models/eca.pt", "```",
                      "`stft.versions.v3.overlap_ms`, `cv.protocol: speaker`, `results/eca/proposed/config.json`,",
                      "`plan.planned` (a function, not a key), `stages/train.py`, [plots](plots/fig6_channel_scale.png)"])
    assert problems("README.md", text) == []


@pytest.mark.parametrize("page, names", [("docs/baselines.md", lambda: ATTENTION), ("docs/corpora.md", lambda: NAMES)])
def test_every_registered_module_and_corpus_is_documented(page, names):
    """The registries are the one list of attention modules and corpora: their pages name every entry."""
    text = (REPO / page).read_text()
    assert [name for name in names() if f"`{name}`" not in text and name not in text] == []


# One table of every environment variable: docs/pipeline.md's "Settings that are not params". The code is every
# file Git holds under these folders (tests/ too: its hooks are rows of the table, marked "tests"), but this file,
# which names planted variables below.
VARIABLE = re.compile(r"\bECASER_[A-Z0-9_]*[A-Z0-9]\b")
CODE = ("src/", "stages/", "slurm/", "benchmarks/", "tests/", "Makefile")
SETTINGS = "docs/pipeline.md"
TABLE_ROW = re.compile(r"^\| `(ECASER_[A-Z0-9_]+)[`=]", re.M)


def variables_in_code():
    """{variable: the files that name it}, over the code Git holds."""
    found = {}
    for name in sorted(repository_files()):
        if not name.startswith(CODE) or name == "tests/test_docs.py" or ".egg-info/" in name:
            continue
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        for variable in VARIABLE.findall(text):
            found.setdefault(variable, set()).add(name)
    return found


def variables_in_table(text):
    """The variables of the settings table: its rows' first cells."""
    section = text.split("## Settings that are not params", 1)[1].split("\n## ", 1)[0]
    return TABLE_ROW.findall(section)


def variable_problems(in_code, in_table):
    problems = [f"{v}: named in {', '.join(sorted(files))}, but not in {SETTINGS}'s table of settings"
                for v, files in sorted(in_code.items()) if v not in in_table]
    problems += [f"{v}: a row of {SETTINGS}'s table, but no code names it" for v in in_table if v not in in_code]
    problems += [f"{v}: two rows in {SETTINGS}'s table" for v in sorted(set(in_table)) if in_table.count(v) > 1]
    return problems


def test_every_environment_variable_has_one_row_in_one_table():
    assert variable_problems(variables_in_code(), variables_in_table((REPO / SETTINGS).read_text())) == []


def test_no_other_page_keeps_a_table_of_variables():
    """Other pages link to the one table rather than repeat its rows (and their defaults)."""
    pages = [p for p in PAGES if p != SETTINGS]
    assert [p for p in pages if TABLE_ROW.search((REPO / p).read_text())] == []


def test_a_variable_missing_from_the_table_or_gone_from_the_code_is_caught():
    """The real table against the real code, less one row and with one planted row: exactly those two reported."""
    in_code, text = variables_in_code(), (REPO / SETTINGS).read_text()
    assert "ECASER_LOCK_DIR" in in_code  # the row taken out below is one the code names
    row = next(line for line in text.splitlines() if line.startswith("| `ECASER_LOCK_DIR`"))
    planted = text.replace(row, "| `ECASER_NUM_WORKERS` | data-loader processes | 4 | user | nothing |")
    missing, gone = sorted(variable_problems(in_code, variables_in_table(planted)))
    assert missing.startswith("ECASER_LOCK_DIR: named in ") and "runtime.py" in missing
    assert missing.endswith("but not in docs/pipeline.md's table of settings")
    assert gone == "ECASER_NUM_WORKERS: a row of docs/pipeline.md's table, but no code names it"

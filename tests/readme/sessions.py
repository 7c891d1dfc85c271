#!/usr/bin/env python3
"""Runs the README's shell sessions against the built examples and compares every output the
README shows. `tests/readme/run.sh` builds the examples and calls this; see its header.

How README.md is read:
- Every ```sh block runs, top to bottom, in ONE bash process (so `TOKEN=$(…)` and the servers a
  block starts carry over to the next), except a block preceded by a line
  `<!-- readme-test: skip (why) -->`.
- A command is a line that is not a comment, with its `\\` continuations. The `# …` lines right
  after it are its output, compared line by line with what it printed:
  - `…` stands for any text (a token, an id, a date);
  - a trailing note after two or more spaces, `   (…)`, is not output;
  - a line `#  text` (two spaces) continues the line before it (a long JSON body, wrapped);
  - `#   text` (three or more spaces) is a note, not output;
  - for `curl -i`, the status line and the headers the README names are compared (the others,
    `date`, `content-length`, … are dropped), then the body;
  - empty lines are not output; a command that shows no output must print nothing.
- What is changed before running, and changed back in the output: the documented ports (8000 to
  8005, 8013, 4000) become free ones, and `postgres://…` becomes $DATABASE_URL_POSTGRES.
  `cargo run --example NAME [-- ARGS]` runs the already built example (EXAMPLES_DIR) on its
  port; a background server's output goes to a log, as a terminal would show it aside.
- It all runs in a fresh temporary directory, where `tests` points at this repository's tests/
  (for `cd tests/oidc`), so the examples' SQLite files and logs start empty.
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.environ.get("README", os.path.join(ROOT, "README.md"))
EXAMPLES_DIR = os.environ["EXAMPLES_DIR"]
# The documented port of each example, as its --help says.
EXAMPLE_PORTS = {"oauth2_scopes": 8000, "backends": 8001, "resource_server": 8002, "users": 8003, "chat": 8004, "notes": 8005}
DOCUMENTED_PORTS = [4000, 8000, 8001, 8002, 8003, 8004, 8005, 8013]
MARK = "@@readme-test {}@@"
SETTLE = 0.3  # seconds after each command, for what a background job prints in answer to it


class Command:
    def __init__(self, line_no, text):
        self.line_no = line_no
        self.text = text
        self.expected = []
        self.background = False


def parse(path):
    """The README's sessions: a list of (first line, [Command]) for the blocks that run."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i, skip = [], 0, None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*<!-- readme-test: skip \((.+)\) -->", line)
        if m:
            skip = m.group(1)
        elif line.strip().startswith("```sh"):
            indent = line[: len(line) - len(line.lstrip())]
            start, body = i + 1, []
            i += 1
            while not lines[i].strip().startswith("```"):
                body.append((i + 1, lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].strip()))
                i += 1
            if skip is None:
                blocks.append((start, commands(body)))
            else:
                print(f"skip - README.md:{start}: {skip}")
            skip = None
        elif line.strip() and not line.strip().startswith("<!--"):
            skip = None  # a skip marker applies to the block right after it only
        i += 1
    return blocks


def commands(body):
    result, j = [], 0
    while j < len(body):
        line_no, line = body[j]
        if not line.strip():
            j += 1
            continue
        if line.startswith("#"):
            if not result:
                raise SystemExit(f"README.md:{line_no}: output before any command")
            text = line[1:]
            if text.startswith("   "):
                pass  # a note
            elif text.startswith("  ") and result[-1].expected:
                result[-1].expected[-1] += text.strip()
            else:
                text = text[1:] if text.startswith(" ") else text
                text = re.sub(r"\s{2,}\(.*\)\s*$", "", text).rstrip()
                result[-1].expected.append(text)
            j += 1
            continue
        text = line
        while text.endswith("\\") and j + 1 < len(body):
            j += 1
            text += "\n" + body[j][1]
        command = Command(line_no, text)
        # `cmd &` or `cmd &   # a comment`; the comment may quote anything.
        command.background = re.search(r"\s&(\s+#.*)?$", text) is not None
        result.append(command)
        j += 1
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ports = {p: free_port() for p in DOCUMENTED_PORTS}
    postgres = os.environ.get("DATABASE_URL_POSTGRES", "")
    work = tempfile.mkdtemp(prefix="readme-test.")
    os.symlink(os.path.join(ROOT, "tests"), os.path.join(work, "tests"))
    transcript = os.path.join(work, "transcript")
    server_log = os.path.join(work, "servers.log")
    blocks = parse(README)

    def substitute(text):
        text = re.sub(r"(:|--port )(\d{4})\b", lambda m: m.group(1) + str(ports.get(int(m.group(2)), m.group(2))), text)
        return re.sub(r"postgres://[^\s'\"]+", lambda m: shlex.quote(postgres), text)

    script = [
        "cd " + shlex.quote(work),
        "unset BIND_ADDR DATABASE_URL SECRET_KEY REFRESH_SECRET_KEY TOKEN_LIFETIME REDIS_URL SMTP_URL PUBLIC_URL OIDC_ISSUER AUDIENCE",
        "export RUST_LOG=info",
        # Each run its own tables, where the PostgreSQL session shares a database with other tests.
        f"export USERS_TABLE=readme_users_{os.getpid()} TOKENS_TABLE=readme_tokens_{os.getpid()}",
        "cargo() {",
        '  if [ "${1-}" != run ] || [ "${2-}" != --example ]; then echo "tests/readme: runs only cargo run --example" >&2; return 1; fi',
        '  local name="$3"; shift 3; [ "${1-}" = -- ] && shift',
        "  case $name in "
        + " ".join(f'{n}) local port={ports[p]} ;;' for n, p in EXAMPLE_PORTS.items())
        + ' *) echo "tests/readme: no example $name" >&2; return 1 ;; esac',
        f'  ( export BIND_ADDR="${{BIND_ADDR:-127.0.0.1:$port}}"; exec {shlex.quote(EXAMPLES_DIR)}/"$name" "$@" )',
        "}",
        "wait_port() {  # the server a background command started",
        "  for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done",
        '  echo "tests/readme: nothing listens on port $1" >&2',
        "}",
    ]
    all_commands = []
    for start, cmds in blocks:
        needs_postgres = any("postgres://" in c.text for c in cmds)
        if needs_postgres and not postgres:
            if os.environ.get("REQUIRE_SERVICES") == "1":
                print(f"not ok - README.md:{start}: DATABASE_URL_POSTGRES is not set (REQUIRE_SERVICES=1)")
                sys.exit(1)
            print(f"skip - README.md:{start}: DATABASE_URL_POSTGRES is not set")
            continue
        for c in cmds:
            n = len(all_commands)
            all_commands.append(c)
            text = substitute(c.text)
            if c.background and not text.lstrip().startswith("curl"):
                # A server: its output aside, as in another terminal; where the README's own
                # redirection says, when it has one.
                if not re.search(r"\s\d?>", text):
                    text = re.sub(r"\s&(\s+#.*)?$", f" >>{shlex.quote(server_log)} 2>&1 &", text.rstrip())
            script.append(f"printf '\\n{MARK.format(n)}\\n'")
            script.append(text)
            if c.background and not text.lstrip().startswith("curl"):
                m = re.search(r"--port (\d+)", text) or re.search(r"BIND_ADDR=\S*:(\d+)", text)
                if m:
                    port = m.group(1)
                else:
                    name = re.search(r"--example (\w+)", text).group(1)
                    port = ports[EXAMPLE_PORTS[name]]
                script.append(f"wait_port {port}")
            script.append(f"sleep {SETTLE}")
    script.append(f"printf '\\n{MARK.format('end')}\\n'")
    script_path = os.path.join(work, "session.sh")
    open(script_path, "w").write("\n".join(script) + "\n")
    stdin_path = os.path.join(work, "stdin")
    # What a reader types when asked (create-superuser's password).
    open(stdin_path, "w").write("admin password\n")

    with open(transcript, "w") as out, open(stdin_path) as stdin, open(os.path.join(work, "stderr"), "w") as err:
        bash = subprocess.Popen(["bash", script_path], stdout=out, stderr=err, stdin=stdin, start_new_session=True)
        try:
            bash.wait(timeout=int(os.environ.get("README_TEST_TIMEOUT", "600")))
        except subprocess.TimeoutExpired:
            print("not ok - the README's sessions did not finish in time")
        finally:
            stop_session(bash.pid)

    text = open(transcript, encoding="utf-8", errors="replace").read()
    segments = re.split(r"\n?" + re.escape(MARK).replace(r"\{\}", r"(\w+)") + r"\n", text)
    outputs = {}
    for k in range(1, len(segments) - 1, 2):
        outputs[segments[k]] = segments[k + 1]
    back = {str(v): str(p) for p, v in ports.items()}
    failed = 0
    for n, c in enumerate(all_commands):
        actual = outputs.get(str(n))
        where = f"README.md:{c.line_no}: {c.text.splitlines()[0][:100]}"
        if actual is None:
            print(f"not ok - {where}\n  it did not run (see the stderr below)")
            failed += 1
            continue
        actual = re.sub(r":(\d+)\b", lambda m: ":" + back.get(m.group(1), m.group(1)), actual)
        if postgres:
            actual = actual.replace(postgres, "postgres://…")
        got = normalise(actual, c.expected)
        problem = compare(c.expected, got)
        if problem:
            failed += 1
            print(f"not ok - {where}\n  {problem}")
            print("  README shows:\n" + "".join(f"    {l}\n" for l in c.expected) + "  printed:\n" + "".join(f"    {l}\n" for l in got), end="")
        else:
            print(f"ok - {where}")
    print(f"README sessions: {len(all_commands) - failed} passed, {failed} failed")
    if failed:
        for name in ("stderr", "servers.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print(f"--- {name} (last 40 lines)")
                print("".join(open(path, errors="replace").readlines()[-40:]), end="")
    else:
        subprocess.run(["rm", "-rf", work])
    sys.exit(1 if failed else 0)


def normalise(actual, expected):
    lines = actual.replace("\r", "").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and lines[0].startswith("HTTP/"):
        named = {e.split(":", 1)[0].lower() for e in expected[1:] if re.match(r"^[A-Za-z0-9-]+: ", e)}
        end = lines.index("") if "" in lines else len(lines)
        headers = [h for h in lines[1:end] if h.split(":", 1)[0].lower() in named]
        lines = [lines[0]] + headers + lines[end:]
    return [l for l in lines if l.strip()]


def compare(expected, got):
    if len(expected) != len(got):
        return f"{len(expected)} line(s) shown, {len(got)} printed"
    for e, g in zip(expected, got):
        pattern = "^" + ".*?".join(re.escape(part) for part in e.split("…")) + "$"
        if not re.match(pattern, g, re.S):
            return f"differs: shown {e!r}, printed {g!r}"
    return None


def stop_session(sid):
    """Stops every process of the run's session: the shell, the servers it started, their
    children."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.getsid(int(pid)) == sid:
                    os.kill(int(pid), sig)
                    alive.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        if not alive:
            return
        time.sleep(1)


if __name__ == "__main__":
    main()

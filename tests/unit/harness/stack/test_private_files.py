"""Files holding settings and secrets (xcomlab_harness.stack.private_files): other users read nothing, at no moment,
and every value comes back unchanged from the env file docker compose reads and the startup.sh sh sources."""

import os
import re
import stat
import subprocess

import pytest

from xcomlab_harness.stack.private_files import env_file, shell_exports, write_private

NASTY = {
    "QUOTE": "it's",
    "DOUBLE": 'say "hi"',
    "DOLLAR": "$HOME and ${PATH} and $$",
    "BACKTICK": "`id` and $(id)",
    "BACKSLASH": "C:\\new\\table \\",
    "NEWLINE": "two\nlines\n",
    "CR": "a\r\nb",
    "ESCAPED": '\\"\\$\\n',
    "SHELL": "; rm -rf / # &&",
    "SPACES": "  padded  ",
    "UNICODE": "Zürich €",
    "EMPTY": "",
}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The widest umask: a mode the code did not choose itself would show as 0666."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_new_file_is_the_owners_alone_whatever_the_umask(tmp_path, open_umask):
    path = tmp_path / "backend.env"
    assert write_private(path, "KEY=secret\n")
    assert mode(path) == 0o600 and path.read_text() == "KEY=secret\n"


def test_a_file_containers_read_is_readable_by_the_writers_group_only(tmp_path, open_umask):
    path = tmp_path / "startup.sh"
    write_private(path, "export KEY=secret\n", group=True)
    assert mode(path) == 0o640 and path.stat().st_gid == os.getegid()


def test_an_earlier_runs_wider_file_is_narrowed_in_place(tmp_path):
    path = tmp_path / "backend.env"
    path.write_text("KEY=old\n")
    path.chmod(0o666)
    inode = path.stat().st_ino
    assert write_private(path, "KEY=new\n")
    assert mode(path) == 0o600 and path.read_text() == "KEY=new\n"
    assert path.stat().st_ino == inode  # a container bind-mounting the file sees the new text
    assert not write_private(path, "KEY=new\n")  # unchanged: not rewritten


def test_the_mode_is_set_before_the_text_is_written(tmp_path, open_umask):
    # the text cannot be encoded: the write fails after the file exists, which must already be private
    path = tmp_path / "backend.env"
    with pytest.raises(UnicodeEncodeError):
        write_private(path, "KEY=\ud800")
    assert mode(path) == 0o600


def test_a_symlink_planted_in_its_place_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("untouched\n")
    (tmp_path / "backend.env").symlink_to(target)
    with pytest.raises(OSError):
        write_private(tmp_path / "backend.env", "KEY=secret\n")
    assert target.read_text() == "untouched\n"


def compose_reads(text: str) -> dict[str, str]:
    """The values docker compose reads from KEY="..." lines, by compose-go's dotenv parser (parser.go: the quoted
    value, then expandEscapes, then expandVariables); enough of it for double-quoted values on one line each."""
    values = {}
    for line in text.splitlines():
        key, quoted = line.split("=", 1)
        assert quoted.startswith('"') and quoted.endswith('"'), line
        chars, escape = [], False
        for char in quoted[1:]:
            if escape:
                chars.append(char if char == '"' else "\\" + char)
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                break
            else:
                chars.append(char)
        value = "".join(chars)
        simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}
        value = re.sub(r'\\([abcfnrtv$"\\])', lambda m: "$$" if m[1] == "$" else simple.get(m[1], m[0]), value)
        assert not re.search(r"(?<!\$)\$(?:\{|\w)", value.replace("$$", "")), f"{key}: compose would interpolate {value!r}"
        values[key] = value.replace("$$", "$")
    return values


def test_every_value_comes_back_from_the_env_file_compose_reads():
    assert compose_reads(env_file(NASTY)) == NASTY
    assert len(env_file(NASTY).splitlines()) == len(NASTY)  # one line each: a newline cannot end a value early


def test_every_value_comes_back_from_the_startup_script_sh_sources(tmp_path):
    script = tmp_path / "startup.sh"
    script.write_text(shell_exports(NASTY))
    done = subprocess.run(["sh", "-c", '. "$1" && env -0', "sh", str(script)], env={"PATH": os.environ["PATH"]},
                          capture_output=True, check=True)
    exported = dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    assert {k: exported.get(k) for k in NASTY} == NASTY


def test_a_name_the_shell_cannot_export_is_left_out():
    assert shell_exports({"my.key": "x", "OK": "y"}) == "export OK=y\n"

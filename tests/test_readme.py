"""The README's two set-up commands are exactly what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "install_system_packages.sh" in commands[0] and "geoplan demo" in commands[0]
    assert "pytest" in commands[1] and ".[test]" in commands[1]


def test_ci_runs_the_readme_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines()]
    first, second = readme_commands()
    assert any(line.startswith(first) for line in lines), "README command 1 is not in .ci/run"
    assert second in lines, "README command 2 is not in .ci/run"
    assert "5" in ci and "exit 0" in ci  # pytest's 'no tests' status is handled


def test_system_package_script_installs_cjk_fonts():
    script = (ROOT / "scripts" / "install_system_packages.sh").read_text(encoding="utf-8")
    assert "fonts-noto-cjk" in script


def test_chinese_readme_has_the_same_two_commands():
    """Bureau staff read README.zh.md: the same two set-up commands, verbatim."""
    text = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.+?)\n```", text.split("## 安装和运行", 1)[1].split("\n## ", 1)[0], flags=re.S)
    assert blocks == readme_commands()

"""The release's facts and their checks, for scripts/release.sh and
scripts/release-test.sh. Python 3.11's standard library only, so that it runs
before any virtualenv exists.

  python3 scripts/release.py version
      Cargo.toml's [package] version: the one home of the release's version.
  python3 scripts/release.py repository
      Cargo.toml's [package] repository: the one home of the project's URL.
  python3 scripts/release.py template ARCH ZIP_NAME OUT
      template.yaml with the function's code at ZIP_NAME (a file beside OUT)
      and Architectures [ARCH], SAM's build step removed.
  python3 scripts/release.py check
      the construct library (construct/package.json and its lock), template.yaml's
      AWS::ServerlessRepo::Application metadata and CHANGELOG.md name Cargo.toml's
      version and repository; the metadata is what the Serverless Application
      Repository accepts. Prints each disagreement and exits 1.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
CONSTRUCT = ROOT / "construct"


def package() -> dict:
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["package"]


def packaged_template(arch: str, zip_name: str, out: str) -> None:
    """Three edits of template.yaml, each of which must match exactly once: a
    change to template.yaml that moves one fails here rather than shipping a
    template that still builds from source."""
    if arch not in ("x86_64", "arm64"):
        sys.exit(f"release: architecture {arch!r}: x86_64 or arm64")
    text = TEMPLATE.read_text()
    edits = [
        # SAM's build step (sam build, cargo lambda) goes: the code is the zip.
        (
            "\n    Metadata:\n      BuildMethod: rust-cargolambda\n"
            "      BuildProperties:\n        Binary: sagemaker-image-version\n",
            "\n",
        ),
        ("\n      CodeUri: .\n", f"\n      CodeUri: ./{zip_name}\n"),
        ("\n      Architectures:\n        - arm64\n", f"\n      Architectures:\n        - {arch}\n"),
    ]
    for old, new in edits:
        n = text.count(old)
        if n != 1:
            sys.exit(f"release: template.yaml: {old!r} is there {n} times, not once")
        text = text.replace(old, new)
    Path(out).write_text(text)


def sar_metadata(text: str) -> dict:
    """The AWS::ServerlessRepo::Application block of a template, read as
    'Key: value' lines and '- item' lists (its values are plain scalars and
    one folded Description: no YAML library, no CloudFormation tags)."""
    lines = text.splitlines()
    try:
        start = lines.index("  AWS::ServerlessRepo::Application:")
    except ValueError:
        return {}
    meta: dict = {}
    key = None
    for line in lines[start + 1 :]:
        if line.strip().startswith("#"):
            continue
        if not line.startswith("    "):
            break
        body = line[4:]
        if not body.startswith(" "):
            key, _, value = body.partition(":")
            value = value.strip()
            meta[key] = [] if value == "" else ("" if value == ">-" else value)
        elif body.strip().startswith("- ") and isinstance(meta.get(key), list):
            meta[key].append(body.strip()[2:])
        else:  # a folded scalar's line
            meta[key] = (meta[key] + " " + body.strip()).strip()
    return meta


def check() -> int:
    pkg = package()
    version, repository = pkg["version"], pkg["repository"].rstrip("/")
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: {got!r}, expected {want!r}")

    # The construct library.
    manifest = json.loads((CONSTRUCT / "package.json").read_text())
    expect("construct/package.json version", manifest.get("version"), version)
    expect("construct/package.json repository.url", (manifest.get("repository") or {}).get("url"), repository + ".git")
    expect("construct/package.json homepage", manifest.get("homepage"), repository)
    lock = json.loads((CONSTRUCT / "package-lock.json").read_text())
    expect("construct/package-lock.json version", lock.get("version"), version)
    expect("construct/package-lock.json packages[''].version", lock["packages"][""].get("version"), version)

    # template.yaml, for the Serverless Application Repository: its fields'
    # rules are SAR's (CreateApplication's API reference).
    meta = sar_metadata(TEMPLATE.read_text())
    expect("template.yaml SemanticVersion", meta.get("SemanticVersion"), version)
    expect("template.yaml HomePageUrl", meta.get("HomePageUrl"), repository)
    expect("template.yaml SourceCodeUrl", meta.get("SourceCodeUrl"), f"{repository}/tree/v{version}")
    expect("template.yaml SpdxLicenseId", meta.get("SpdxLicenseId"), pkg["license"])
    for key, pattern, most in [
        ("Name", r"[a-zA-Z0-9\-]+", 140),
        ("Author", r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", 127),
        ("Description", r".+", 256),
    ]:
        value = meta.get(key)
        if not isinstance(value, str) or not re.fullmatch(pattern, value) or len(value) > most:
            problems.append(f"template.yaml {key}: {value!r} is not {pattern} of at most {most} characters")
    labels = meta.get("Labels")
    if not isinstance(labels, list) or not 1 <= len(labels) <= 10:
        problems.append(f"template.yaml Labels: {labels!r}, expected 1 to 10")
    for label in labels or []:
        if not re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label):
            problems.append(f"template.yaml Labels: {label!r} is not [a-zA-Z0-9+-_:/@]{{1,127}}")
    for key in ("LicenseUrl", "ReadmeUrl"):
        if not (ROOT / str(meta.get(key))).is_file():
            problems.append(f"template.yaml {key}: {meta.get(key)!r} is no file beside the template")

    # CHANGELOG.md (keep-a-changelog): [Unreleased] first, then this version.
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    expect("CHANGELOG.md's first two sections", releases[:2], ["Unreleased", version])
    for name in releases[:2]:
        if not re.search(rf"^\[{re.escape(name)}\]: {re.escape(repository)}/", changelog, re.M):
            problems.append(f"CHANGELOG.md: no [{name}] link into {repository}")

    for problem in problems:
        print(f"release-check: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(args: list[str]) -> int:
    match args:
        case ["version"]:
            print(package()["version"])
        case ["repository"]:
            print(package()["repository"])
        case ["template", arch, zip_name, out]:
            packaged_template(arch, zip_name, out)
        case ["check"]:
            return check()
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Lab blocks → steps: directives, hidden steps, positions, cleaning, placeholders."""
import re
from collections import Counter
from pathlib import Path

import pytest

from labdeck.diagnostics import Diagnostics
from labdeck.lab_blocks import clean_command, is_placeholder, parse_lab_block
from labdeck.labs.extract import collect_steps
from labdeck.model import Position

from shared import CORPUS


def parse(text: str, line: int = 10):
    diags = Diagnostics()
    block = parse_lab_block(text, Position("ch/x.md", line), diags)
    return block.steps, diags


def test_each_fence_is_a_step_with_the_line_of_its_fence():
    text = "\n\n- Make a folder:\n  ```bash\n  mkdir -p a/b\n  ```\n\n- List it:\n  ```bash\n  ls a\n  ```\n"
    steps, diags = parse(text, line=10)
    assert [(s.directive, s.text, s.pos.line) for s in steps] == [
        ("bash", "mkdir -p a/b", 13), ("bash", "ls a", 18)]
    assert not diags.items


def test_a_fence_that_opens_a_list_item_is_a_step():
    text = "\n- ```bash\n  mkdir -p a/b\n  ```\n1. ```bash\n   ls a\n   ```\n"
    steps, diags = parse(text, line=10)
    assert [(s.directive, s.text, s.pos.line) for s in steps] == [
        ("bash", "mkdir -p a/b", 11), ("bash", "ls a", 14)]
    assert not diags.items


def test_hidden_one_line_steps_in_comments():
    text = ('\n```bash\nsleep 100\n```\n<!-- ```hide touch ready``` -->\n<!--\n'
            '```wait Running```\n```key ^C```\n-->\n')
    steps, _ = parse(text, line=1)
    assert [(s.directive, s.text, s.hidden, s.pos.line) for s in steps] == [
        ("bash", "sleep 100", False, 2),
        ("hide", "touch ready", True, 5),
        ("wait", "Running", True, 7),
        ("key", "^C", True, 8)]


def test_keys_keep_their_trailing_space():
    steps, _ = parse("\n<!--\n```keys kubectl delete pod ```\n```paste```\n-->\n")
    assert [(s.directive, s.text) for s in steps] == [("keys", "kubectl delete pod "), ("paste", "")]


def test_text_after_a_one_line_fence_is_not_part_of_the_step():
    # authors balance the brackets of .lab[ after ```key ^[```
    steps, _ = parse("\n<!--\n```key ^[``` ]\n-->\n")
    assert [(s.directive, s.text) for s in steps] == [("key", "^[")]


def test_heredoc_keeps_its_shape_and_list_indentation_goes():
    text = "\n- Create:\n  ```bash\n    cat > f.yaml <<EOF\n    kind: Namespace\n    metadata:\n      name: x\n    EOF\n  ```\n"
    steps, _ = parse(text)
    assert steps[0].text == "cat > f.yaml <<EOF\nkind: Namespace\nmetadata:\n  name: x\nEOF"


def test_highlight_backticks_are_removed_from_commands():
    steps, _ = parse("\n```bash\nkubectl get `pods` -o wide\n```\n")
    assert steps[0].text == "kubectl get pods -o wide"
    assert not steps[0].placeholder


@pytest.mark.parametrize("span", ["IP-ADDRESS", "X.X.X.X", "CLUSTERIP", "<ClusterIP>", "A.B.C.D"])
def test_caps_or_angle_spans_are_placeholders(span):
    assert is_placeholder(span)


@pytest.mark.parametrize("span", ["$CLUSTERIP", "pods", "10.0.0.1", "X", "-o wide"])
def test_ordinary_spans_are_not_placeholders(span):
    assert not is_placeholder(span)


def test_placeholder_step_is_marked_with_its_names():
    steps, _ = parse("\n```bash\ncurl http://`IP-ADDRESS`:8080\n```\n")
    assert steps[0].text == "curl http://IP-ADDRESS:8080"
    assert steps[0].placeholder and steps[0].placeholders == ["IP-ADDRESS"]
    assert clean_command("a `B-C` `B-C`") == ("a B-C B-C", ["B-C"])


def test_other_languages_are_content_not_steps():
    steps, diags = parse("\n```yaml\nkind: Pod\n```\n```\nplain output\n```\n```bash\nls\n```\n")
    assert [s.directive for s in steps] == ["bash"]
    assert not diags.items


def test_unknown_directive_warns_with_its_location():
    steps, diags = parse("\n\n<!-- ```lookat the files``` -->\n", line=40)
    assert steps == []
    assert [str(d) for d in diags.items] == [
        "ch/x.md:42: warning: unknown lab directive 'lookat' (step ignored)"]


def test_unclosed_fence_is_an_error():
    _, diags = parse("\n```bash\nls\n", line=5)
    assert [str(d) for d in diags.errors] == ["ch/x.md:6: error: unclosed code fence ```bash in lab block"]


def test_multiline_fence_inside_a_comment_is_hidden():
    steps, _ = parse("\n<!--\n```bash\necho hidden\n```\n-->\n```bash\necho shown\n```\n")
    assert [(s.text, s.hidden) for s in steps] == [("echo hidden", True), ("echo shown", False)]


# --- the real-world corpus -------------------------------------------------

def _expand(line: str, values: dict) -> str:
    """The source line with its @@X@@ manifest values filled in, as the builder does."""
    return re.sub(r"@@(\w+)@@", lambda m: str(values.get(m.group(1).lower(), m.group(0))), line)


def corpus_manifests():
    return sorted(CORPUS.glob("*.yml")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_manifests(), reason=f"corpus absent: {CORPUS}")
@pytest.mark.parametrize("manifest", corpus_manifests(), ids=lambda p: p.stem)
def test_corpus_steps_map_back_to_their_source_line(manifest):
    from labdeck.build import load_deck
    deck, diags = load_deck(manifest)
    steps = collect_steps(deck)
    counts = Counter(s.directive for s in steps)
    print(f"{manifest.stem}: {len(steps)} steps: {dict(counts.most_common())}")
    assert steps, "every corpus deck has labs"
    for s in steps:
        lines = [_expand(l, deck.values) for l in (CORPUS / s.file).read_text().split("\n")]
        line = lines[s.line - 1]
        assert "```" in line and s.directive in line, f"{s.where}: {line!r}"
        first = s.text.split("\n", 1)[0].strip()
        if first and first not in line.replace("`", ""):     # a multi-line fence: text on the next line
            line = lines[s.line].replace("`", "")
        assert first in line, f"{s.where}: {line!r} lacks {first!r}"
    assert not [d for d in diags.errors if "lab" in d.message]
    # a lab shown again on a `--` continuation is not run twice
    assert len({(s.file, s.line) for s in steps}) == len(steps)


def test_hidden_block_closed_by_fence_and_comment_on_one_line():
    # the visible step after it stays its own step
    text = "\n<!-- ```hide\nprep one\nprep two\n``` -->\n\n- Look:\n  ```bash\n  ls\n  ```\n"
    steps, diags = parse(text, line=1)
    assert [(s.directive, s.text, s.hidden, s.pos.line) for s in steps] == [
        ("hide", "prep one\nprep two", True, 2), ("bash", "ls", False, 8)]
    assert not diags.items


@pytest.mark.parametrize("command,names", [
    ("kubectl delete pod `blue-xxxxxxxx-yyyyy`", ["blue-xxxxxxxx-yyyyy"]),
    ("kubectl describe secret `jean.doe-token-xxxxx`", ["jean.doe-token-xxxxx"]),
    ("ssh `nodeX`", ["nodeX"]),
    ("iptables -t nat -nL `KUBE-SVC-...`", ["KUBE-SVC-..."]),
    ("kubectl delete pod pingpong-xxxxxxxxxx-yyyyy", ["pingpong-xxxxxxxxxx-yyyyy"]),
    ("docker logs <ID>", ["<ID>"]),
    ("cat <<EOF\nname: x\nEOF", []),
    ("sort <input.txt", []),
    ("curl `10.0.0.42`", []),
])
def test_placeholders_in_spans_and_in_plain_text(command, names):
    assert clean_command(command)[1] == names


def test_variables_set_only_in_prose_are_found_with_their_first_use():
    from labdeck.labs.extract import StepRecord, unset_variables

    def rec(i, text):
        return StepRecord(i, "d", 1, "", "c.md", 1, "", "1", "d.html#1", "c.md", i, "bash", text)
    steps = [rec(1, "for N in 1 2; do echo $N; done"), rec(2, "KEY=$(cat k)"),
             rec(3, "openssl x509 -CA $CA_CRT -CAkey $KEY -in $HOME/x"), rec(4, "echo $CA_CRT")]
    found = unset_variables(steps)
    assert {k: v.line for k, v in found.items()} == {"CA_CRT": 3}


# --- step counts against the source, by an independent reading ------------

_LAB_FENCE = re.compile(r"^\s*(?:<!--\s*)?(?:[-*+]\s+)?```([A-Za-z]+)")


def _slide_region(lines: list[str], start: int) -> list[str]:
    """A shown slide step's own lines: up to the next `---`/`--` separator or its notes."""
    out, in_code = [], False
    for line in lines[start:]:
        if line.strip().startswith("```") and line.count("```") == 1:
            in_code = not in_code
        if not in_code and line.rstrip() in ("---", "--", "???"):
            break
        out.append(line)
    return out


def _lab_fences(path: str, start: int, lines: list[str]) -> set[tuple[str, int]]:
    """(file, line) of every directive fence inside `.lab[`/`.exercise[` ... `]`."""
    from labdeck.lab_blocks import NAMES
    found, in_lab = set(), False
    for k, line in enumerate(_slide_region(lines, start)):
        if ".lab[" in line or ".exercise[" in line:
            in_lab = True
        m = _LAB_FENCE.match(line)
        if in_lab and m and m.group(1) in NAMES:
            found.add((path, start + k + 1))
        if in_lab and line.rstrip() == "]":
            in_lab = False
    return found


@pytest.mark.skipif(not corpus_manifests(), reason=f"corpus absent: {CORPUS}")
@pytest.mark.parametrize("manifest", corpus_manifests(), ids=lambda p: p.stem)
def test_corpus_step_count_matches_the_lab_fences_of_shown_slides(manifest):
    from labdeck.build import load_deck
    deck, _ = load_deck(manifest, render_html=False)
    steps = collect_steps(deck)
    expected: set[tuple[str, int]] = set()
    sources: dict[str, list[str]] = {}
    for chapter in deck.chapters:
        for slide in chapter.slides:           # shown slides only: excluded ones are not in the model
            path = slide.pos.path
            if path.startswith("<"):
                continue
            if path not in sources:
                sources[path] = (CORPUS / path).read_text().split("\n")
            expected |= _lab_fences(path, slide.pos.line - 1, sources[path])
    got = {(s.file, s.line) for s in steps}
    print(f"{manifest.stem}: {len(steps)} steps, {len(expected)} lab fences in the source")
    assert len(steps) == len(expected)
    assert got == expected, (sorted(expected - got)[:5], sorted(got - expected)[:5])


def test_docs_show_every_directive_as_the_table_says():
    from labdeck.lab_blocks import TABLE
    doc = (Path(__file__).resolve().parent.parent / "docs" / "labs.md").read_text()
    for d in TABLE:
        assert f"| `{d.name}` | {d.argument} | {d.runner} | {d.script} |" in doc, d.name


def test_keys_holding_one_caret_key_is_that_key():
    steps, _ = parse("\n<!--\n```keys ^C```\n```keys ^Cx```\n-->\n")
    assert [(s.directive, s.text) for s in steps] == [("key", "^C"), ("keys", "^Cx")]

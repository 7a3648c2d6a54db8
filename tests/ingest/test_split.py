"""Sharing a file between parsing processes: byte ranges cut at activity starts."""

from __future__ import annotations

from pathlib import Path

from iatiportal.ingest import records as r
from iatiportal.ingest.parse import iter_file
from iatiportal.ingest.split import Part, find_cuts

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<!-- a file for the split tests -->\n"
    '<iati-activities version="2.03" generated-datetime="2026-01-01T00:00:00Z"\n'
    '    xmlns:x="http://example.org/x">\n'
)


def _activity(i: int, comment: bool = False) -> str:
    body = (
        f'  <iati-activity default-currency="USD" x:seq="{i}">\n'
        f"    <iati-identifier>XX-SPLIT-{i:04d}</iati-identifier>\n"
        '    <reporting-org ref="XX-SPLIT" type="80">'
        "<narrative>Split</narrative></reporting-org>\n"
        f"    <title><narrative>Activity {i} {'x' * 200}</narrative></title>\n"
        f'    <transaction><transaction-type code="4"/><transaction-date iso-date="2024-01-01"/>'
        f'<value value-date="2024-01-01">{i}.25</value></transaction>\n'
        "  </iati-activity>\n"
    )
    return f"  <!--\n{body}  -->\n" if comment else body


def _write(path: Path, n: int, commented: set[int] | None = None) -> Path:
    commented = commented or set()
    path.write_text(
        HEAD + "".join(_activity(i, i in commented) for i in range(n)) + "</iati-activities>\n",
        encoding="utf-8",
    )
    return path


def _read(path: Path, part: Part) -> list[tuple[str, int | None, list[str]]]:
    return [
        (a.iati_identifier, a.source_line, [str(t.value) for t in a.transactions])
        for a in iter_file(path, validate=False, part=part)
        if isinstance(a, r.Activity)
    ]


def test_byte_ranges_read_every_activity_once_with_file_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "split.xml", 300)
    whole = _read(path, Part())
    assert len(whole) == 300
    assert whole[0] == ("XX-SPLIT-0000", 5, ["0.25"])
    for count in (2, 3):
        cuts = find_cuts(path, count)
        assert cuts is not None and len(cuts) == count - 1
        text = path.read_bytes()
        assert all(text[c:].startswith(b"<iati-activity ") for c in cuts)
        parts = [_read(path, Part(k, count, cuts)) for k in range(count)]
        assert all(parts), "every part has activities"
        assert [a for part in parts for a in part] == whole


def test_every_nth_activity_without_cuts(tmp_path: Path) -> None:
    path = _write(tmp_path / "parity.xml", 9)
    whole = _read(path, Part())
    parts = [_read(path, Part(k, 2)) for k in range(2)]
    assert parts[0] == whole[0::2]
    assert parts[1] == whole[1::2]


def test_no_cut_inside_a_comment(tmp_path: Path) -> None:
    # Every activity around the middle is commented out: a cut there would read a comment's
    # content as an activity, so there is no cut and parts fall back to every n-th activity.
    path = _write(tmp_path / "commented.xml", 200, commented=set(range(60, 140)))
    assert find_cuts(path, 2) is None
    whole = _read(path, Part())
    assert len(whole) == 120
    assert "XX-SPLIT-0100" not in {a[0] for a in whole}


def test_no_cut_without_an_activities_root(tmp_path: Path) -> None:
    path = tmp_path / "org.xml"
    path.write_text('<iati-organisations version="2.03"></iati-organisations>\n', "utf-8")
    assert find_cuts(path, 2) is None

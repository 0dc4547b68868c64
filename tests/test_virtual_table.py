"""Tests for VirtualTable: rendering, cursor and scrolling, filtering, messages."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult

from kms_connect.ui.widgets.virtual_table import Column, VirtualTable

COLUMNS = [Column("name", "Name", width=12), Column("project", "Project"), Column("state", "State", 6)]
SCREEN = (80, 24)
DATA_LINES = SCREEN[1] - 1  # the table fills the screen; the header takes one line


def make_rows(count: int) -> list[tuple[str, list[str | Text]]]:
    return [(f"k{i}", [f"conn-{i:05d}", f"project {i % 7}", "ok"]) for i in range(count)]


class TableApp(App[None]):
    def __init__(self, rows: Sequence[tuple[str, Sequence[str | Text]]] = (), columns=COLUMNS) -> None:
        super().__init__()
        self.initial_rows = rows
        self.columns = columns
        self.selected: list[str] = []
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(self.columns, id="table")

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(self.initial_rows)
        table.focus()

    @on(VirtualTable.RowSelected, "#table")
    def record_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append(message.row_key)

    @on(VirtualTable.RowHighlighted, "#table")
    def record_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        assert message.control is message.table
        self.highlighted.append(message.row_key)


def calls_to(monkeypatch, table: VirtualTable, method: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """The arguments of each call the table makes to one of its methods (which still runs)."""
    calls: list[tuple[object, ...]] = []
    original = getattr(table, method)

    def record(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(table, method, record)
    return calls


def lines(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def cursor_line(table: VirtualTable) -> int:
    """Screen line of the cursor row (asserting that it is on screen and marked)."""
    marked = [y for y, text in enumerate(lines(table)) if text.startswith("▶")]
    assert len(marked) == 1, marked
    return marked[0]


async def test_renders_header_and_first_rows() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        width = table.scrollable_content_region.width
        assert width == 80  # three rows fit: no scrollbar
        rendered = lines(table)
        # 1 cell gutter, fixed 12, gap 2, flex rest, gap 2, fixed 6.
        flex = 80 - 1 - 12 - 2 - 2 - 6
        assert rendered[0] == " " + "Name".ljust(12) + "  " + "Project".ljust(flex) + "  " + "State "
        assert rendered[1] == "▶" + "conn-00000".ljust(12) + "  " + "project 0".ljust(flex) + "  ok    "
        assert rendered[2].startswith(" conn-00001    project 1")
        assert rendered[3].startswith(" conn-00002")
        assert all(text == " " * width for text in rendered[4:])
        assert all(table.render_line(y).cell_length == width for y in range(24))
        assert table.total_count == table.visible_count == 3
        assert table.cursor_key == "k0"
        assert app.highlighted == ["k0"]
        assert list(table.render_line(0))[1].style.bold  # header is bold


async def test_empty_table_renders_header_only() -> None:
    app = TableApp([])
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        rendered = lines(table)
        assert rendered[0].startswith(" Name")
        assert all(not text.strip() for text in rendered[1:])
        assert table.cursor_key is None
        await pilot.press("down", "enter")
        assert app.selected == []


async def test_long_cells_are_truncated_with_ellipsis() -> None:
    columns = [Column("name", "Name", width=8), Column("rest", "Rest", width=5)]
    rows = [("a", ["exactly8", "way too long"]), ("b", ["short"])]  # "b" has a missing cell
    app = TableApp(rows, columns)
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.render_line(1).text.startswith("▶exactly8  way …")
        assert table.render_line(2).text.startswith(" short     " + " " * 5)


async def test_flex_columns_never_shrink_below_min_width() -> None:
    columns = [Column("a", "A", width=70), Column("b", "B", min_width=9), Column("c", "C", min_width=3)]
    app = TableApp([("r", ["x", "123456789012", "abcdef"])], columns)
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        text = app.query_one(VirtualTable).render_line(1).text
        assert len(text) == 80  # wider than the screen is cropped, not wrapped
        assert text[71:] == "  1234567"  # 9 wide ("12345678…"), cropped at 80


async def test_text_cells_keep_their_style() -> None:
    rows = [("a", [Text("● ok", style="green"), "plain"]), ("b", [Text("✗ failed", style="bold red"), "x"])]
    app = TableApp(rows)
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        segments = list(table.render_line(2))
        failed = next(segment for segment in segments if "✗" in segment.text)
        assert failed.style.color.name == "red" and failed.style.bold
        plain = next(segment for segment in segments if "x" in segment.text)
        assert plain.style.color is None or plain.style.color.name != "red"
        # The cursor row keeps the cell colour too.
        ok = next(segment for segment in list(table.render_line(1)) if "●" in segment.text)
        assert ok.style.color.name == "green"


async def test_cursor_row_style_follows_focus() -> None:
    app = TableApp(make_rows(3))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        focused = list(table.render_line(1))[1].style
        normal = list(table.render_line(2))[1].style
        assert focused.bgcolor != normal.bgcolor
        table.blur()
        await pilot.pause()
        blurred = list(table.render_line(1))[1].style
        assert blurred != focused and blurred.bgcolor != normal.bgcolor
        assert table.render_line(1).text.startswith("▶")  # marker does not depend on focus


async def test_keys_move_cursor_and_keep_it_visible() -> None:
    app = TableApp(make_rows(100))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        await pilot.press("down", "j")
        assert table.cursor_key == "k2" and table.scroll_offset.y == 0
        await pilot.press("k")
        assert table.cursor_key == "k1"

        await pilot.press("end")
        assert table.cursor_key == "k99"
        assert table.scroll_offset.y == 100 - DATA_LINES
        assert cursor_line(table) == 23
        assert lines(table)[23].startswith("▶conn-00099")  # the last row is reachable
        assert lines(table)[0].startswith(" Name")  # the header does not scroll away

        await pilot.press("home")
        assert table.cursor_key == "k0" and table.scroll_offset.y == 0
        assert cursor_line(table) == 1

        await pilot.press("pagedown")
        assert table.cursor_key == f"k{DATA_LINES}"
        assert table.scroll_offset.y == DATA_LINES
        assert cursor_line(table) == 1
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert table.cursor_key == "k99"
        await pilot.press("pageup")
        assert table.cursor_key == f"k{99 - DATA_LINES}"
        assert cursor_line(table) >= 1

        await pilot.press("home", *["down"] * (DATA_LINES + 2))
        assert table.cursor_key == f"k{DATA_LINES + 2}"
        assert table.scroll_offset.y == 3  # scrolled just enough
        assert cursor_line(table) == 23
        assert app.highlighted[-1] == table.cursor_key
        assert all(a != b for a, b in pairwise(app.highlighted))


async def test_a_cursor_move_repaints_the_two_rows_it_changes(monkeypatch) -> None:
    app = TableApp(make_rows(100))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        repainted = calls_to(monkeypatch, table, "refresh_line")
        await pilot.press("down")  # row 0 -> row 1: lines 1 and 2 (line 0 is the header)
        assert sorted(repainted) == [(1,), (2,)] and cursor_line(table) == 2
        repainted.clear()
        await pilot.press("end")  # far away: the table scrolls, which repaints all of it anyway
        assert sorted(repainted) == [(2,), (100,)] and cursor_line(table) == 23


async def test_enter_posts_row_selected() -> None:
    app = TableApp(make_rows(5))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.selected == ["k2"]
        assert app.highlighted == ["k0", "k1", "k2"]


async def test_click_highlights_then_selects() -> None:
    app = TableApp(make_rows(5))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        await pilot.click(VirtualTable, offset=(5, 3))  # screen line 3 = row 2
        await pilot.pause()
        assert table.cursor_key == "k2" and app.selected == []
        await pilot.click(VirtualTable, offset=(5, 3))
        await pilot.pause()
        assert app.selected == ["k2"]
        await pilot.click(VirtualTable, offset=(5, 0))  # header
        await pilot.click(VirtualTable, offset=(5, 10))  # below the last row
        await pilot.pause()
        assert table.cursor_key == "k2" and app.selected == ["k2"]


async def test_filter_narrows_rows_and_keeps_cursor_key() -> None:
    app = TableApp(make_rows(50))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.move_cursor_to_key("k13")
        table.set_filter("PROJECT 6")  # case-insensitive; k13 is in project 6
        await pilot.pause()
        assert table.visible_count == 7 and table.total_count == 50
        assert table.cursor_key == "k13"
        rendered = lines(table)
        assert [text[1:11] for text in rendered[1:8]] == [f"conn-{i:05d}" for i in range(6, 50, 7)]
        assert rendered[cursor_line(table)].startswith("▶conn-00013")
        assert not rendered[8].strip()
        assert not table.move_cursor_to_key("k14")  # filtered out
        assert not table.move_cursor_to_key("nope")

        table.set_filter("ok")  # text in any cell
        assert table.visible_count == 50
        table.set_filter("6 ok")  # never matches across a cell boundary
        assert table.visible_count == 0 and table.cursor_key is None
        await pilot.pause()
        assert app.highlighted[-1] is None
        assert all(not text.strip() for text in lines(table)[1:])

        table.set_filter("")
        assert table.visible_count == 50 and table.cursor_key == "k0"


async def test_filter_that_drops_the_cursor_row_clamps_and_scrolls() -> None:
    app = TableApp(make_rows(100))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        await pilot.press("end")
        table.set_filter("conn-0000")  # k0..k9: the cursor row k99 is gone
        await pilot.pause()
        assert table.visible_count == 10
        assert table.cursor_key == "k9"
        assert table.scroll_offset.y == 0
        assert lines(table)[1].startswith(" conn-00000")
        assert cursor_line(table) == 10


async def test_set_rows_keeps_cursor_key_when_rows_reorder() -> None:
    app = TableApp(make_rows(100))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.move_cursor_to_key("k30")
        await pilot.pause()
        table.set_rows(list(reversed(make_rows(100))))
        await pilot.pause()
        assert table.cursor_key == "k30"
        assert lines(table)[cursor_line(table)].startswith("▶conn-00030")
        assert app.highlighted.count("k30") == 1  # same key: no new RowHighlighted

        # New cell text for the same keys shows up (no stale cached lines).
        table.set_rows([(key, [name.upper(), *rest]) for key, (name, *rest) in make_rows(100)])
        await pilot.pause()
        assert all(text[1:6] == "CONN-" for text in lines(table)[1:])
        assert lines(table)[cursor_line(table)].startswith("▶CONN-00030")

        # The filter is re-applied to new rows.
        table.set_filter("project 2")
        assert table.cursor_key == "k30"
        table.set_rows(make_rows(20))  # k30 is gone; project 2 leaves k2, k9, k16
        assert table.visible_count == 3 and table.cursor_key == "k16"

        # Cursor key gone: the index is kept, clamped to the rows left.
        table.set_filter("")
        assert table.move_cursor_to_key("k15")
        table.set_rows(make_rows(10))
        assert table.cursor_key == "k9"


async def test_ten_thousand_rows_render_only_visible_lines(monkeypatch) -> None:
    built: list[int] = []
    original = VirtualTable._build_line

    def counting_build_line(self, *args, **kwargs):
        built.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VirtualTable, "_build_line", counting_build_line)
    app = TableApp(make_rows(10_000))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.total_count == 10_000
        assert table.virtual_size.height == 10_001
        assert 0 < len(built) <= 2 * SCREEN[1]  # a repaint or two, never per row
        assert len(table._line_cache) <= SCREEN[1]
        built.clear()
        await pilot.press("end")
        await pilot.pause()
        assert lines(table)[23].startswith("▶conn-09999")
        assert len(built) <= 2 * SCREEN[1]
        assert table.scroll_offset.y == 10_000 - DATA_LINES


async def test_update_row_repaints_only_rows_on_screen_and_keeps_the_new_cells(monkeypatch) -> None:
    app = TableApp(make_rows(500))
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        repaints = calls_to(monkeypatch, table, "refresh")
        assert table.update_row("k400", ["conn-00400", "project 1", "FAIL"])  # far below the screen
        assert repaints == []
        assert table.update_row("k2", ["conn-00002", "project 2", "FAIL"])  # on screen
        assert len(repaints) == 1
        await pilot.pause()
        assert lines(table)[3].rstrip().endswith("FAIL")
        assert table.move_cursor_to_key("k400")
        await pilot.pause()
        assert lines(table)[cursor_line(table)].rstrip().endswith("FAIL")  # drawn from its new cells
        assert not table.update_row("nope", ["x"])

"""A read-only table that only does work for the rows on screen.

Textual's DataTable builds per-row objects and measures every cell up front (1.26 s for
10,000 rows). Here rows stay plain tuples, filtering is one substring pass over lowercase
haystacks made at the first filter keystroke, and the Line API renders only the lines the
compositor asks for.

Scroll model: line 0 is the header and never scrolls; `scroll_offset.y` is the index (into
the filtered rows) of the first data row on screen. The virtual height is rows + 1, so the
largest scroll_y (virtual height - viewport height) puts the last row on the last line.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kms_connect.ui.widgets.table_cells import GAP, Cell, Column, column_widths, fit_cell, haystacks

__all__ = ["Cell", "Column", "VirtualTable"]

_MARKER = "▶"  # in the 1-cell left gutter of the cursor row, so it is visible without colour


class VirtualTable(ScrollView, can_focus=True):
    """A keyboard-driven table of keyed rows, with a fixed header and a substring filter."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"virtual-table--header", "virtual-table--cursor"}

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
        & > .virtual-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .virtual-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.cursor-up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.cursor-down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page-down"),
        Binding("home", "first", "First", show=False, id="table.first"),
        Binding("end", "last", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Select", show=False, id="table.select"),
    ]

    class _TableMessage(Message):
        def __init__(self, table: VirtualTable, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.row_key = row_key

        @property
        def control(self) -> VirtualTable:  # lets @on(..., "#id") match the table
            return self.table

    class RowHighlighted(_TableMessage):
        """The cursor moved to another row (`row_key` is None when no rows are visible)."""

    class Resized(_TableMessage):
        """The table was laid out at another size: other cells may be cut short."""

    class RowSelected(_TableMessage):
        """Enter was pressed (or the highlighted row was clicked); `row_key` is never None."""

        row_key: str

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._columns: tuple[Column, ...] = tuple(columns)
        self._keys: list[str] = []
        self._cells: list[Sequence[Cell]] = []
        self.haystacks: list[str] | None = None
        self._visible: Sequence[int] = []  # indexes into _keys, in row order (so bisect works)
        self._filter = ""
        self._cursor = 0  # index into _visible
        self._announced: str | None = None  # last key sent in RowHighlighted, to skip repeats
        self._widths: tuple[int, list[int]] = (-1, [])  # (table width, column widths)
        # ~2 screens of strips: enough for scrolling back and forth, bounded for any row count.
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        self._update_virtual_size()

    def cut_cells(self) -> list[tuple[str, str]]:
        """(column label, full text) of each cell of the cursor row cut short at the current width."""
        width = self.scrollable_content_region.width
        if not self._visible or width <= 0:  # no rows, or not laid out yet
            return []
        widths = self._column_widths(width)
        cells = self._cells[self._visible[self._cursor]]  # the cursor's row, without a scan of the keys
        return [
            (column.label, text)
            for column, width, cell in zip(self._columns, widths, cells, strict=False)
            if width and cell_len(text := cell if isinstance(cell, str) else cell.plain) > width
        ]

    @property
    def cursor_key(self) -> str | None:
        """Key of the highlighted row, or None when no rows are visible."""
        if not self._visible:
            return None
        return self._keys[self._visible[self._cursor]]

    @property
    def visible_count(self) -> int:
        """Rows left after the filter."""
        return len(self._visible)

    @property
    def total_count(self) -> int:
        return len(self._keys)

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Replace all rows, keeping the cursor on the same key if it is still there."""
        old_key = self.cursor_key
        old_cursor = self._cursor
        keys, cells = zip(*rows, strict=True) if rows else ((), ())
        self._keys = list(keys)
        self._cells = list(cells)
        self.haystacks = None  # made at the first filter keystroke: most listings are never filtered
        self._apply_filter(old_key, old_cursor)

    def update_row(self, key: str, cells: Sequence[Cell]) -> bool:
        """Replace one row's cells in place (live status); False if the key is unknown.

        The row stays where it is even if it no longer matches the filter: rows jumping away while
        a check runs would be worse than a briefly stale filter.
        """
        try:
            row = self._keys.index(key)
        except ValueError:
            return False
        self._cells[row] = cells
        if self.haystacks is not None:
            self.haystacks[row] = haystacks([cells])[0]
        # LRUCache has keys() but no __iter__
        for cache_key in [k for k in self._line_cache.keys() if k and k[0] == row]:  # noqa: SIM118
            self._line_cache.discard(cache_key)
        position = bisect_left(self._visible, row)
        top = self.scroll_offset.y
        if (
            position < len(self._visible)
            and self._visible[position] == row
            and top <= position < top + self.size.height
        ):
            self.refresh()  # on screen; a row scrolled away is drawn from its new cells when it comes back
        return True

    def set_filter(self, text: str) -> None:
        """Show only rows whose cells contain `text` (case-insensitive); "" shows all."""
        self._filter = text.lower()
        self._apply_filter(self.cursor_key, self._cursor)

    def move_cursor_to_key(self, key: str) -> bool:
        """Highlight the row with `key`; False if it is unknown or filtered out."""
        position = self._visible_position(key)
        if position is None:
            return False
        self._move_cursor(position)
        return True

    def _apply_filter(self, keep_key: str | None, fallback: int) -> None:
        needle = self._filter
        if needle:
            if self.haystacks is None:
                self.haystacks = haystacks(self._cells)
            self._visible = [i for i, hay in enumerate(self.haystacks) if needle in hay]
        else:
            self._visible = range(len(self._keys))
        position = None if keep_key is None else self._visible_position(keep_key)
        self._cursor = self._clamp(fallback if position is None else position)
        self._line_cache.clear()
        self._update_virtual_size()
        self._scroll_cursor_into_view()
        self.refresh()
        self._announce()

    def _visible_position(self, key: str) -> int | None:
        try:
            row = self._keys.index(key)  # C-speed scan; only one per call
        except ValueError:
            return None
        position = bisect_left(self._visible, row)
        found = position < len(self._visible) and self._visible[position] == row
        return position if found else None

    def _clamp(self, index: int) -> int:
        return max(0, min(index, len(self._visible) - 1))

    def _update_virtual_size(self) -> None:
        # Width = natural width, so `width: auto` works; overflow-x is hidden anyway.
        natural = 1 + sum(c.width or c.min_width for c in self._columns)
        natural += len(GAP) * max(0, len(self._columns) - 1)
        self.virtual_size = Size(natural, len(self._visible) + 1)

    @property
    def _page_height(self) -> int:  # data rows on screen: the header takes one line
        return max(1, self.scrollable_content_region.height - 1)

    def _move_cursor(self, index: int, top: int | None = None) -> None:
        index = self._clamp(index)
        if index != self._cursor:
            old, self._cursor = self._cursor, index
            # Only the two rows that changed (line 0 is the header): repainting the whole table
            # made Textual re-render every widget of the screen on each arrow key (~7 ms).
            self.refresh_line(old + 1)
            self.refresh_line(index + 1)
        self._scroll_cursor_into_view(top)
        self._announce()

    def _scroll_cursor_into_view(self, top: int | None = None) -> None:
        height = self.scrollable_content_region.height
        if height <= 1:
            return  # not laid out yet; on_resize calls this again
        page = height - 1
        top = self.scroll_offset.y if top is None else top
        if self._cursor < top:
            top = self._cursor
        elif self._cursor >= top + page:
            top = self._cursor - page + 1
        # Clamp as scroll_to would, so the comparison below skips no-op scrolls.
        top = max(0, min(top, len(self._visible) - page))
        if top != self.scroll_offset.y:
            # force: allow_vertical_scroll is False until the scrollbar appears after layout.
            self.scroll_to(y=top, animate=False, force=True)

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._announced:
            self._announced = key
            self.post_message(self.RowHighlighted(self, key))

    def action_cursor_up(self) -> None:
        self._move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self._page(-self._page_height)

    def action_page_down(self) -> None:
        self._page(self._page_height)

    def _page(self, delta: int) -> None:
        # Move view and cursor together so the cursor keeps its place on screen.
        self._move_cursor(self._cursor + delta, top=self.scroll_offset.y + delta)

    def action_first(self) -> None:
        self._move_cursor(0)

    def action_last(self) -> None:
        self._move_cursor(len(self._visible) - 1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "select" or self.cursor_key is not None  # not in the footer with no row to act on

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # border/padding or the header
        index = self.scroll_offset.y + offset.y - 1
        if index >= len(self._visible):
            return
        event.stop()
        if index == self._cursor:
            self.action_select()
        else:
            self._move_cursor(index)

    def on_resize(self, event: events.Resize) -> None:
        self._line_cache.clear()
        self._scroll_cursor_into_view()
        self.post_message(self.Resized(self, self.cursor_key))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()  # theme or CSS changed: cached strips have stale styles

    def _column_widths(self, width: int) -> list[int]:
        cached_width, widths = self._widths
        if cached_width == width:
            return widths
        widths = column_widths(self._columns, width - 1)  # the gutter takes one cell
        self._widths = (width, widths)
        return widths

    def _build_line(self, gutter: str, cells: Sequence[Cell], width: int, style: Style) -> Strip:
        console = self.app.console
        segments = [Segment(gutter)]
        shown = [(i, w) for i, w in enumerate(self._column_widths(width)) if w]  # a hidden column has width 0
        for n, (index, cell_width) in enumerate(shown):
            segments.extend([Segment(GAP)] if n else [])
            segments.extend(fit_cell(cells[index] if index < len(cells) else "", cell_width, console))
        # The row style goes underneath, so styles from Text cells win where they are set.
        strip = Strip(Segment.apply_style(segments, style))
        return strip.adjust_cell_length(width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            cache_key: tuple[object, ...] = ("header", width)
            if (strip := self._line_cache.get(cache_key)) is None:
                labels = [column.label for column in self._columns]
                style = self.get_component_rich_style("virtual-table--header")
                strip = self._build_line(" ", labels, width, style)
                self._line_cache[cache_key] = strip
            return strip
        index = self.scroll_offset.y + y - 1
        if index >= len(self._visible):
            return Strip.blank(width, self.rich_style)
        row = self._visible[index]
        is_cursor = index == self._cursor
        cache_key = (row, width, is_cursor, is_cursor and self.has_focus)
        if (strip := self._line_cache.get(cache_key)) is None:
            if is_cursor:
                strip = self._build_line(
                    _MARKER,
                    self._cells[row],
                    width,
                    self.get_component_rich_style("virtual-table--cursor"),
                )
            else:
                strip = self._build_line(" ", self._cells[row], width, self.rich_style)
            self._line_cache[cache_key] = strip
        return strip
